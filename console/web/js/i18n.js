// Strings of the console in Chinese (the default: duty rooms are in China)
// and English, and the helpers that apply them.

const zh = {
  'app.title': '值班台',
  'login.username': '用户名', 'login.password': '密码', 'login.submit': '登录',
  'login.wrong': '用户名或密码错误',
  'login.throttled': '登录失败次数过多，请 {min} 分钟后再试',
  'login.expired': '登录已过期，请重新登录',
  'login.required': '请输入用户名和密码',
  'login.failed': '登录失败：{msg}',
  'nav.queue': '警情队列', 'nav.devices': '设备', 'nav.overview': '总览', 'nav.logout': '退出',
  'conn.live': '实时', 'conn.connecting': '连接中', 'conn.offline': '已断开',
  'conn.banner': '连接中断，正在重连…', 'conn.retryIn': '{s} 秒后重试', 'conn.retryNow': '立即重连',
  'stale': '数据可能已过期',
  'sound.mute': '静音', 'sound.muted': '静音中 {s} 秒', 'sound.mute.title': '静音 60 秒（新警情会恢复声音）',
  'sound.blocked': '报警声音未启用：浏览器需要先点击一次页面。', 'sound.enable': '启用声音',
  'notify.ask': '开启桌面通知，页面在后台时也能看到新警情。', 'notify.enable': '开启通知',
  'notify.title': '新警情：{kind}', 'notify.body': '{where} {resident}',
  'queue.title': '待处理警情', 'queue.severity': '级别', 'queue.kind': '类型', 'queue.where': '位置 / 住户',
  'queue.state': '状态', 'queue.age': '已过', 'queue.empty': '暂无待处理警情',
  'queue.test': '测试', 'queue.level': '升级 {n}', 'queue.cleared': '已恢复', 'queue.alone': '独居',
  'queue.by': '{name}', 'queue.times': '×{n}',
  'review.title': '待复核（已处置）',
  'keys.hint': '快捷键：j/k 选择 · 回车 打开 · a 接警 · d 派单 · r 处置 · n 备注 · Esc 关闭',
  'detail.close': '关闭', 'detail.pick': '在左侧选择一条警情查看详情（j/k 选择，回车打开）。',
  'detail.resident': '住户', 'detail.contacts': '联系人', 'detail.device': '设备', 'detail.timeline': '处置记录',
  'detail.name': '姓名', 'detail.age': '年龄', 'detail.ageValue': '{n} 岁（{y} 年生）', 'detail.livesAlone': '独居',
  'detail.careNotes': '照护备注', 'detail.language': '语言', 'detail.address': '地址',
  'detail.gridWorker': '网格员', 'detail.noContacts': '未登记联系人',
  'detail.opened': '发生于 {t}', 'detail.reading': '读数 {v}', 'detail.assignee': '接警人 {name}',
  'detail.dispatchedTo': '已派往 {to}', 'detail.occurrences': '共 {n} 次', 'detail.loading': '正在加载…',
  'detail.loadFailed': '详情加载失败：{msg}',
  'detail.deviceId': '编号', 'detail.deviceKind': '类型', 'detail.deviceStatus': '状态', 'detail.battery': '电量',
  'detail.signal': '信号', 'detail.lastSeen': '最后上报', 'detail.vendor': '厂商 / 型号',
  'yes': '是', 'no': '否',
  'chart.lel': '燃气浓度（%LEL），报警前后', 'chart.pm25': 'PM2.5（µg/m³），报警前后',
  'chart.empty': '这段时间没有读数', 'chart.failed': '读数加载失败：{msg}', 'chart.opened': '报警',
  'act.accept': '接警', 'act.dispatch': '派单', 'act.resolve': '处置完成', 'act.close': '复核关闭',
  'act.note': '添加备注', 'act.notePlaceholder': '备注（派单、处置时一并记录）', 'act.dispatchOther': '派往…',
  'act.failed.accept': '接警失败：{msg}', 'act.failed.dispatch': '派单失败：{msg}',
  'act.failed.resolve': '处置失败：{msg}', 'act.failed.close': '关闭失败：{msg}', 'act.failed.note': '备注失败：{msg}',
  'act.done.accept': '已接警', 'act.done.dispatch': '已派单', 'act.done.resolve': '已处置',
  'act.done.close': '已关闭', 'act.done.note': '已添加备注',
  'act.needNote': '请先输入备注', 'act.needTo': '请填写派往对象',
  'dispatch.grid_worker': '网格员', 'dispatch.119': '119 消防', 'dispatch.120': '120 急救',
  'dispatch.gas': '燃气公司', 'dispatch.other': '其他…',
  'outcome.genuine': '真实警情，已处置', 'outcome.false_alarm': '误报', 'outcome.referred': '已转交',
  'outcome.duplicate': '重复警情', 'outcome.test': '测试',
  'sev.critical': '紧急', 'sev.major': '重要', 'sev.minor': '一般',
  'state.new': '待接警', 'state.accepted': '已接警', 'state.dispatched': '已派单',
  'state.resolved': '已处置', 'state.closed': '已关闭',
  'kind.sos': '一键呼救', 'kind.smoke': '烟雾报警', 'kind.gas_low': '燃气泄漏', 'kind.gas_high': '燃气泄漏（高浓度）',
  'kind.fault': '设备故障', 'kind.tamper': '防拆报警', 'kind.low_battery': '电量低', 'kind.offline': '设备失联',
  'kind.air_quality': '空气质量',
  'dkind.co': '一氧化碳报警器', 'dkind.gateway': '网关（Zigbee2MQTT）', 'kind.co': '一氧化碳',
  'dev.source': '接入方式', 'dev.gateway': '所属网关', 'dev.address': '地址（IEEE / 主题前缀 / 基础主题）',
  'source.native': '守望原生协议', 'source.zigbee2mqtt': 'Zigbee2MQTT', 'source.shelly': 'Shelly',
  'vd.discovered': '网关上报、尚未绑定的设备', 'vd.discoveredHelp': 'Zigbee2MQTT 网关列出的设备：点“绑定”即可登记，无需输入地址。',
  'vd.bridge': '网关', 'vd.name': '名称', 'vd.ieee': 'IEEE 地址', 'vd.bind': '绑定', 'vd.noDiscovered': '没有待绑定的设备',
  'vd.unknownModel': '未支持的型号', 'vd.details': '详情', 'vd.close': '关闭', 'vd.panelTitle': '设备 {id}',
  'vd.selftest': '发送自检指令', 'vd.selftestSent': '已向 {id} 发送自检指令，结果记为测试', 'vd.refusals': '最近被拒绝的消息与连接',
  'vd.noRefusals': '没有被拒绝的记录', 'vd.failed.discovered': '待绑定设备加载失败：{msg}', 'vd.failed.selftest': '自检指令发送失败：{msg}',
  'refusal.oversized': '消息过大', 'refusal.malformed': '格式错误（不是 JSON 对象）', 'refusal.bad_type': '字段类型错误',
  'refusal.missing_field': '缺少必填字段', 'refusal.unknown_field': '未知字段', 'refusal.out_of_range': '数值超出范围',
  'refusal.bad_value': '取值不被允许', 'refusal.bad_topic': '主题不属于该设备', 'refusal.unregistered': '未登记',
  'refusal.spoofed': '冒用其他设备的主题或身份', 'refusal.bad_credentials': '密码错误或凭据无效',
  'refusal.packet_too_large': '数据包过大', 'refusal.wildcard_topic': '向通配符主题发布', 'refusal.retained': '不允许保留的消息',
  'dkind.sos_button': '紧急呼叫按钮', 'dkind.smoke': '烟雾探测器', 'dkind.gas': '燃气探测器', 'dkind.air': '空气监测仪',
  'tl.opened': '报警', 'tl.occurred': '再次触发', 'tl.severity_raised': '级别升高', 'tl.cleared': '设备报告恢复',
  'tl.recurred': '恢复后再次发生', 'tl.accepted': '接警', 'tl.dispatched': '派单', 'tl.resolved': '处置完成',
  'tl.closed': '复核关闭', 'tl.note': '备注', 'tl.escalated': '超时升级', 'tl.reminder': '处置提醒',
  'tl.notify_attempt': '外部通知', 'tl.notify_failed': '外部通知失败', 'tl.notify_delivered': '外部通知已送达',
  'tl.notify_gave_up': '外部通知放弃', 'tl.device_ack': '已回执设备', 'tl.test': '收到测试',
  'tl.system': '系统', 'tl.device': '设备',
  'dev.community': '社区', 'dev.grid': '网格', 'dev.building': '楼栋', 'dev.unit': '单元', 'dev.floor': '楼层',
  'dev.household': '门牌', 'dev.search': '编号 / 住户 / 门牌', 'dev.filter': '筛选', 'dev.kind': '类型',
  'dev.kind.all': '全部类型', 'dev.status': '状态', 'dev.status.all': '全部状态', 'dev.online': '在线', 'dev.offline': '离线',
  'dev.id': '编号', 'dev.location': '位置', 'dev.resident': '住户', 'dev.battery': '电量', 'dev.lastSeen': '最后上报',
  'dev.never': '从未', 'dev.total': '共 {total} 台，显示第 {from}–{to} 台', 'dev.none': '没有符合条件的设备',
  'dev.prev': '上一页', 'dev.next': '下一页', 'dev.edit': '修改', 'dev.rotate': '重置密码',
  'dev.rotateConfirm': '重置设备 {id} 的密码？设备需用新密码重新连接。',
  'dev.unregistered': '已发现但未登记的设备', 'dev.firstSeen': '首次出现', 'dev.count': '次数', 'dev.detail': '最近行为',
  'dev.registerThis': '登记', 'dev.noUnregistered': '没有未登记的设备',
  'dev.register': '登记设备', 'dev.editTitle': '修改设备 {id}', 'dev.registerBtn': '登记', 'dev.saveBtn': '保存修改',
  'dev.cancelEdit': '取消修改', 'dev.vendor': '厂商', 'dev.model': '型号', 'dev.voice': '支持语音通话',
  'dev.residentName': '住户姓名', 'dev.birthYear': '出生年份', 'dev.livesAlone': '独居', 'dev.language': '语言 / 方言',
  'dev.careNotes': '照护备注', 'dev.contacts': '联系人（姓名|关系|电话，多人用 ; 分隔）',
  'dev.gridWorker': '网格员', 'dev.gridWorkerPhone': '网格员电话',
  'dev.registered': '已登记设备 {id}', 'dev.saved': '已保存设备 {id}',
  'dev.failed.register': '登记失败：{msg}', 'dev.failed.save': '保存失败：{msg}', 'dev.failed.list': '设备列表加载失败：{msg}',
  'dev.failed.rotate': '重置密码失败：{msg}', 'dev.badContacts': '联系人格式：姓名|关系|电话，多人用 ; 分隔（第 {n} 个有误）',
  'cred.title': '设备凭据（仅显示这一次）', 'cred.warn': '请立即记下或写入设备：关闭后无法再次查看，只能重新生成密码。',
  'cred.username': 'MQTT 用户名', 'cred.password': 'MQTT 密码', 'cred.dismiss': '我已记下',
  'imp.title': 'CSV 批量导入', 'imp.help': 'UTF-8 编码，首行为列名，以下三列必填：', 'imp.btn': '导入',
  'imp.noFile': '请先选择 CSV 文件', 'imp.done': '已导入 {n} 台设备', 'imp.failed': '导入失败：{msg}',
  'imp.row': '第 {line} 行{id}：{err}', 'imp.credWarn': '导入设备的密码只显示这一次，请下载保存。',
  'imp.download': '下载凭据 CSV',
  'ov.counts': '在办警情', 'ov.share': '60 秒内接警率', 'ov.today': '今日', 'ov.week': '本周',
  'ov.target': '目标：60 秒内接警 97.5%，180 秒内 99%（不含测试）。', 'ov.devices': '设备',
  'ov.silent': '失联的生命安全设备', 'ov.noSilent': '没有失联的生命安全设备', 'ov.total': '合计',
  'ov.shareDetail': '{n}/{total} 条在 60 秒内接警', 'ov.noAlerts': '无警情', 'ov.meets': '达标', 'ov.misses': '未达标',
  'ov.devicesLine': '共 {total} 台：在线 {online}，离线 {offline}', 'ov.failed': '统计加载失败：{msg}',
  'ov.instances': '服务实例', 'inst.alive': '运行中', 'inst.dead': '无心跳', 'inst.stopped': '已停止', 'inst.self': '（当前连接）',
  'inst.beat': '心跳 {ago}', 'inst.owns': '负责：{list}', 'inst.none': '只有一个实例',
  'ago.s': '{n} 秒前', 'ago.m': '{n} 分钟前', 'ago.h': '{n} 小时前', 'ago.d': '{n} 天前',
  'call.answer': '接听', 'call.hangup': '挂断', 'call.callback': '回拨',
  'call.ringing': '来电，等待接听', 'call.connecting': '正在接通…', 'call.connected': '通话中',
  'call.answeredBy': '{name} 已接听', 'call.ended': '通话已结束',
  'call.queueRinging': '来电', 'call.queueAnswered': '通话中', 'call.queueAnsweredBy': '{name} 通话中',
  'call.busy': '您正在通话，请先挂断',
  'call.micDenied': '无法使用麦克风：浏览器未授权', 'call.noMic': '未找到可用的麦克风',
  'call.failed': '接听失败：{msg}', 'call.lost': '通话连接中断', 'call.endedRemote': '对方已结束通话',
  'call.hungUp': '已挂断', 'call.hangupFailed': '挂断失败：{msg}',
  'call.callbackSent': '已请求设备回拨，来电将在本机自动接通', 'call.callbackFailed': '回拨失败：{msg}',
  'call.callbackPending': '等待设备来电…',
  'call.recordingDevice': '住户录音', 'call.recordingConsole': '值班员录音',
  'call.by': '接听人 {name}', 'call.duration': '时长 {d}',
  'tl.call_ringing': '来电', 'tl.call_answered': '接听来电', 'tl.call_ended': '通话结束',
  'callReason.hangup': '挂断', 'callReason.timeout': '超时', 'callReason.peer_gone': '连接中断',
  'callReason.error': '出错', 'callReason.shutdown': '服务停止', 'callReason.busy': '线路忙', 'callReason.refused': '被拒绝',
  'callReason.media_failed': '本机与服务器之间的语音连接未能建立', 'callReason.media_timeout': '语音连接超时未建立',
  'tl.call_released': '接听未接通，重新振铃',
  'err.network': '无法连接到服务器', 'err.forbidden': '没有权限：{msg}',
  // Reaching the hub from any duty-room PC: HTTPS, its certificate, calls.
  'queue.notLoaded': '尚未连上服务器，警情未载入',
  'tls.caDownload': '下载本站证书', 'tls.caHint': '首次在本机使用时，请信任此证书（SHA-256 {fp}）',
  'calls.cannot': '本机无法接听来电：{why}',
  'calls.why.insecure': '页面未通过 HTTPS 打开，浏览器不允许网页使用麦克风（请管理员开启 HTTPS）',
  'calls.why.unsupported': '此浏览器不支持网页通话',
  'calls.why.noMic': '未检测到麦克风',
  'calls.why.micDenied': '浏览器已禁止此页面使用麦克风',
  'call.failedRinging': '接听失败：{msg}。来电仍在等待接听。',
};

const en = {
  'app.title': 'Duty room',
  'login.username': 'Username', 'login.password': 'Password', 'login.submit': 'Log in',
  'login.wrong': 'Wrong username or password',
  'login.throttled': 'Too many failed logins; try again in {min} min',
  'login.expired': 'Your session has ended; log in again',
  'login.required': 'Enter your username and password',
  'login.failed': 'Login failed: {msg}',
  'nav.queue': 'Alert queue', 'nav.devices': 'Devices', 'nav.overview': 'Overview', 'nav.logout': 'Log out',
  'conn.live': 'Live', 'conn.connecting': 'Connecting', 'conn.offline': 'Offline',
  'conn.banner': 'Connection lost, reconnecting…', 'conn.retryIn': 'retry in {s} s', 'conn.retryNow': 'Reconnect now',
  'stale': 'Data may be out of date',
  'sound.mute': 'Mute', 'sound.muted': 'Muted {s} s', 'sound.mute.title': 'Mute for 60 s (a new alert turns the sound back on)',
  'sound.blocked': 'Alarm sound is off: the browser needs one click on the page first.', 'sound.enable': 'Enable sound',
  'notify.ask': 'Turn on desktop notifications to see new alerts while this page is in the background.',
  'notify.enable': 'Turn on',
  'notify.title': 'New alert: {kind}', 'notify.body': '{where} {resident}',
  'queue.title': 'Open alerts', 'queue.severity': 'Severity', 'queue.kind': 'Kind', 'queue.where': 'Where / resident',
  'queue.state': 'State', 'queue.age': 'Open for', 'queue.empty': 'No open alerts',
  'queue.test': 'TEST', 'queue.level': 'Level {n}', 'queue.cleared': 'cleared', 'queue.alone': 'alone',
  'queue.by': '{name}', 'queue.times': '×{n}',
  'review.title': 'To review (resolved)',
  'keys.hint': 'Keys: j/k select · Enter open · a accept · d dispatch · r resolve · n note · Esc close',
  'detail.close': 'Close', 'detail.pick': 'Pick an alert on the left (j/k to select, Enter to open).',
  'detail.resident': 'Resident', 'detail.contacts': 'Contacts', 'detail.device': 'Device', 'detail.timeline': 'Timeline',
  'detail.name': 'Name', 'detail.age': 'Age', 'detail.ageValue': '{n} (born {y})', 'detail.livesAlone': 'Lives alone',
  'detail.careNotes': 'Care notes', 'detail.language': 'Language', 'detail.address': 'Address',
  'detail.gridWorker': 'Grid worker', 'detail.noContacts': 'No contacts registered',
  'detail.opened': 'opened {t}', 'detail.reading': 'reading {v}', 'detail.assignee': 'accepted by {name}',
  'detail.dispatchedTo': 'sent: {to}', 'detail.occurrences': '{n} times', 'detail.loading': 'Loading…',
  'detail.loadFailed': 'Could not load the alert: {msg}',
  'detail.deviceId': 'ID', 'detail.deviceKind': 'Kind', 'detail.deviceStatus': 'Status', 'detail.battery': 'Battery',
  'detail.signal': 'Signal', 'detail.lastSeen': 'Last seen', 'detail.vendor': 'Vendor / model',
  'yes': 'yes', 'no': 'no',
  'chart.lel': 'Gas level (%LEL) around the alarm', 'chart.pm25': 'PM2.5 (µg/m³) around the alarm',
  'chart.empty': 'No readings in this period', 'chart.failed': 'Could not load readings: {msg}', 'chart.opened': 'alarm',
  'act.accept': 'Accept', 'act.dispatch': 'Dispatch', 'act.resolve': 'Resolve', 'act.close': 'Review & close',
  'act.note': 'Add note', 'act.notePlaceholder': 'Note (also recorded with dispatch and resolve)', 'act.dispatchOther': 'Sent to…',
  'act.failed.accept': 'Accept failed: {msg}', 'act.failed.dispatch': 'Dispatch failed: {msg}',
  'act.failed.resolve': 'Resolve failed: {msg}', 'act.failed.close': 'Close failed: {msg}', 'act.failed.note': 'Note failed: {msg}',
  'act.done.accept': 'Accepted', 'act.done.dispatch': 'Dispatched', 'act.done.resolve': 'Resolved',
  'act.done.close': 'Closed', 'act.done.note': 'Note added',
  'act.needNote': 'Type a note first', 'act.needTo': 'Say who was sent',
  'dispatch.grid_worker': 'Grid worker', 'dispatch.119': '119 fire', 'dispatch.120': '120 ambulance',
  'dispatch.gas': 'Gas company', 'dispatch.other': 'Other…',
  'outcome.genuine': 'Genuine, handled', 'outcome.false_alarm': 'False alarm', 'outcome.referred': 'Referred',
  'outcome.duplicate': 'Duplicate', 'outcome.test': 'Test',
  'sev.critical': 'CRITICAL', 'sev.major': 'MAJOR', 'sev.minor': 'MINOR',
  'state.new': 'New', 'state.accepted': 'Accepted', 'state.dispatched': 'Dispatched',
  'state.resolved': 'Resolved', 'state.closed': 'Closed',
  'kind.sos': 'SOS call', 'kind.smoke': 'Smoke', 'kind.gas_low': 'Gas leak', 'kind.gas_high': 'Gas leak (high)',
  'kind.fault': 'Device fault', 'kind.tamper': 'Tamper', 'kind.low_battery': 'Low battery', 'kind.offline': 'Device silent',
  'kind.air_quality': 'Air quality',
  'dkind.co': 'CO alarm', 'dkind.gateway': 'Gateway (Zigbee2MQTT)', 'kind.co': 'Carbon monoxide',
  'dev.source': 'Speaks', 'dev.gateway': 'Bridge', 'dev.address': 'Address (IEEE / topic prefix / base topic)',
  'source.native': 'Shouwang native', 'source.zigbee2mqtt': 'Zigbee2MQTT', 'source.shelly': 'Shelly',
  'vd.discovered': 'Reported by bridges, not bound yet', 'vd.discoveredHelp': 'Devices a Zigbee2MQTT bridge lists: Bind registers one without typing its address.',
  'vd.bridge': 'Bridge', 'vd.name': 'Name', 'vd.ieee': 'IEEE address', 'vd.bind': 'Bind', 'vd.noDiscovered': 'Nothing waiting to be bound',
  'vd.unknownModel': 'model not supported', 'vd.details': 'Details', 'vd.close': 'Close', 'vd.panelTitle': 'Device {id}',
  'vd.selftest': 'Send self-test', 'vd.selftestSent': 'Self-test sent to {id}; it is recorded as a test', 'vd.refusals': 'Last refused messages and connections',
  'vd.noRefusals': 'Nothing refused', 'vd.failed.discovered': 'Could not list reported devices: {msg}', 'vd.failed.selftest': 'Self-test failed: {msg}',
  'refusal.oversized': 'Message too large', 'refusal.malformed': 'Malformed (not a JSON object)', 'refusal.bad_type': 'Field of the wrong type',
  'refusal.missing_field': 'Required field missing', 'refusal.unknown_field': 'Unknown field', 'refusal.out_of_range': 'Value out of range',
  'refusal.bad_value': 'Value not allowed', 'refusal.bad_topic': 'Topic not the device\'s own', 'refusal.unregistered': 'Not registered',
  'refusal.spoofed': 'Another device\'s topic or identity', 'refusal.bad_credentials': 'Wrong password or credentials',
  'refusal.packet_too_large': 'Packet too large', 'refusal.wildcard_topic': 'Publish to a wildcard topic', 'refusal.retained': 'Retained where it may not be',
  'dkind.sos_button': 'SOS button', 'dkind.smoke': 'Smoke detector', 'dkind.gas': 'Gas detector', 'dkind.air': 'Air monitor',
  'tl.opened': 'Opened', 'tl.occurred': 'Occurred again', 'tl.severity_raised': 'Severity raised', 'tl.cleared': 'Device reports clear',
  'tl.recurred': 'Recurred after clearing', 'tl.accepted': 'Accepted', 'tl.dispatched': 'Dispatched', 'tl.resolved': 'Resolved',
  'tl.closed': 'Reviewed and closed', 'tl.note': 'Note', 'tl.escalated': 'Escalated', 'tl.reminder': 'Reminder',
  'tl.notify_attempt': 'Outside notification', 'tl.notify_failed': 'Outside notification failed',
  'tl.notify_delivered': 'Outside notification delivered', 'tl.notify_gave_up': 'Outside notification given up',
  'tl.device_ack': 'Device acknowledged', 'tl.test': 'Test received', 'tl.system': 'system', 'tl.device': 'device',
  'dev.community': 'Community', 'dev.grid': 'Grid', 'dev.building': 'Building', 'dev.unit': 'Unit', 'dev.floor': 'Floor',
  'dev.household': 'Household', 'dev.search': 'ID / resident / household', 'dev.filter': 'Filter', 'dev.kind': 'Kind',
  'dev.kind.all': 'All kinds', 'dev.status': 'Status', 'dev.status.all': 'Any status', 'dev.online': 'online', 'dev.offline': 'offline',
  'dev.id': 'ID', 'dev.location': 'Location', 'dev.resident': 'Resident', 'dev.battery': 'Battery', 'dev.lastSeen': 'Last seen',
  'dev.never': 'never', 'dev.total': '{total} devices, showing {from}–{to}', 'dev.none': 'No devices match',
  'dev.prev': 'Previous', 'dev.next': 'Next', 'dev.edit': 'Edit', 'dev.rotate': 'New password',
  'dev.rotateConfirm': 'Give device {id} a new password? It must reconnect with it.',
  'dev.unregistered': 'Seen but not registered', 'dev.firstSeen': 'First seen', 'dev.count': 'Count', 'dev.detail': 'Last action',
  'dev.registerThis': 'Register', 'dev.noUnregistered': 'No unregistered devices seen',
  'dev.register': 'Register a device', 'dev.editTitle': 'Edit device {id}', 'dev.registerBtn': 'Register', 'dev.saveBtn': 'Save',
  'dev.cancelEdit': 'Cancel', 'dev.vendor': 'Vendor', 'dev.model': 'Model', 'dev.voice': 'Voice calls',
  'dev.residentName': 'Resident name', 'dev.birthYear': 'Birth year', 'dev.livesAlone': 'Lives alone', 'dev.language': 'Language',
  'dev.careNotes': 'Care notes', 'dev.contacts': 'Contacts (name|relation|phone; separate people with ;)',
  'dev.gridWorker': 'Grid worker', 'dev.gridWorkerPhone': 'Grid worker phone',
  'dev.registered': 'Registered {id}', 'dev.saved': 'Saved {id}',
  'dev.failed.register': 'Register failed: {msg}', 'dev.failed.save': 'Save failed: {msg}', 'dev.failed.list': 'Could not list devices: {msg}',
  'dev.failed.rotate': 'New password failed: {msg}', 'dev.badContacts': 'Contacts: name|relation|phone, separated by ; (number {n} is wrong)',
  'cred.title': 'Device credentials (shown once)', 'cred.warn': 'Write them down or into the device now: they cannot be shown again, only replaced.',
  'cred.username': 'MQTT username', 'cred.password': 'MQTT password', 'cred.dismiss': 'Done',
  'imp.title': 'CSV import', 'imp.help': 'UTF-8, a header row first; these columns are required:', 'imp.btn': 'Import',
  'imp.noFile': 'Choose a CSV file first', 'imp.done': 'Imported {n} devices', 'imp.done.one': 'Imported {n} device', 'imp.failed': 'Import failed: {msg}',
  'imp.row': 'Line {line}{id}: {err}', 'imp.credWarn': 'The imported devices\' passwords are shown only now: download them.',
  'imp.download': 'Download credentials CSV',
  'ov.counts': 'Open alerts', 'ov.share': 'Accepted within 60 s', 'ov.today': 'Today', 'ov.week': 'This week',
  'ov.target': 'Target: 97.5 % accepted within 60 s, 99 % within 180 s (tests excluded).', 'ov.devices': 'Devices',
  'ov.silent': 'Silent life-safety devices', 'ov.noSilent': 'No silent life-safety devices', 'ov.total': 'Total',
  'ov.shareDetail': '{n} of {total} accepted within 60 s', 'ov.noAlerts': 'no alerts', 'ov.meets': 'on target', 'ov.misses': 'below target',
  'ov.devicesLine': '{total} devices: {online} online, {offline} offline', 'ov.failed': 'Could not load figures: {msg}',
  'ov.instances': 'Hub instances', 'inst.alive': 'running', 'inst.dead': 'no heartbeat', 'inst.stopped': 'stopped', 'inst.self': '(this connection)',
  'inst.beat': 'heartbeat {ago}', 'inst.owns': 'owns: {list}', 'inst.none': 'One instance only',
  'ago.s': '{n} s ago', 'ago.m': '{n} min ago', 'ago.h': '{n} h ago', 'ago.d': '{n} d ago',
  'call.answer': 'Answer', 'call.hangup': 'Hang up', 'call.callback': 'Call back',
  'call.ringing': 'Incoming call, waiting', 'call.connecting': 'Connecting…', 'call.connected': 'On the call',
  'call.answeredBy': 'Answered by {name}', 'call.ended': 'Call ended',
  'call.queueRinging': 'Call', 'call.queueAnswered': 'On a call', 'call.queueAnsweredBy': 'On a call: {name}',
  'call.busy': 'You are on a call: hang up first',
  'call.micDenied': 'Microphone blocked: allow it for this page', 'call.noMic': 'No usable microphone found',
  'call.failed': 'Could not answer: {msg}', 'call.lost': 'The call\'s connection was lost', 'call.endedRemote': 'The other side ended the call',
  'call.hungUp': 'Hung up', 'call.hangupFailed': 'Hang-up failed: {msg}',
  'call.callbackSent': 'Asked the device to call; its call will be answered here', 'call.callbackFailed': 'Call back failed: {msg}',
  'call.callbackPending': 'Waiting for the device…',
  'call.recordingDevice': 'Resident', 'call.recordingConsole': 'Duty officer',
  'call.by': 'answered by {name}', 'call.duration': 'lasted {d}',
  'tl.call_ringing': 'Call ringing', 'tl.call_answered': 'Call answered', 'tl.call_ended': 'Call ended',
  'callReason.hangup': 'hung up', 'callReason.timeout': 'timed out', 'callReason.peer_gone': 'connection lost',
  'callReason.error': 'error', 'callReason.shutdown': 'hub stopped', 'callReason.busy': 'busy', 'callReason.refused': 'refused',
  'callReason.media_failed': 'the audio connection between this PC and the hub could not be set up', 'callReason.media_timeout': 'the audio connection did not come up in time',
  'tl.call_released': 'Answer did not connect; ringing again',
  'err.network': 'Cannot reach the server ({msg})', 'err.forbidden': 'Not allowed: {msg}',
  // Reaching the hub from any duty-room PC: HTTPS, its certificate, calls.
  'queue.notLoaded': 'Not connected to the hub yet: alerts not loaded',
  'tls.caDownload': "Download this hub's certificate", 'tls.caHint': 'Trust it once on this PC (SHA-256 {fp})',
  'calls.cannot': 'This PC cannot take calls: {why}',
  'calls.why.insecure': 'the page is not open over HTTPS, so the browser keeps the microphone from it (ask for HTTPS to be turned on)',
  'calls.why.unsupported': 'this browser cannot make web calls',
  'calls.why.noMic': 'no microphone found',
  'calls.why.micDenied': 'the browser blocks the microphone for this page',
  'call.failedRinging': 'Could not answer: {msg}. The call is still ringing.',
};

const dicts = { 'zh-CN': zh, en };
const storageKey = 'shouwang.lang';
const listeners = [];

let lang = 'zh-CN';
try {
  if (localStorage.getItem(storageKey) === 'en') lang = 'en';
} catch { /* storage blocked: stay in Chinese */ }

/** The current language: 'zh-CN' or 'en'. */
export function currentLang() { return lang; }

/** t returns the string for key in the current language, with {name} filled from params. */
export function t(key, params) {
  let s = dicts[lang][key] ?? zh[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/**
 * tCount is t for a count: the plural form of key for n in the current
 * language (Intl.PluralRules: English says "1 household", "2 households";
 * Chinese has one form), then t with n among params. A form is the key with
 * the category after a dot (key.one); the plain key is the other forms.
 */
export function tCount(key, n, params) {
  const form = `${key}.${new Intl.PluralRules(lang).select(n)}`;
  return t(form in dicts[lang] ? form : key, { ...params, n });
}

/**
 * addStrings adds a module's own strings to the dictionaries (each module
 * keeps its strings beside it: strings-*.js), Chinese and English alike.
 */
export function addStrings(zhStrings, enStrings) {
  Object.assign(zh, zhStrings);
  Object.assign(en, enStrings);
}

/** has reports whether key is a known string. */
export function has(key) { return key in zh; }

/** onLangChange registers fn to re-render dynamic text after a switch. */
export function onLangChange(fn) { listeners.push(fn); }

/** setLang switches language, remembers it and re-applies every string. */
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh-CN';
  try { localStorage.setItem(storageKey, lang); } catch { /* not remembered */ }
  applyStatic();
  for (const fn of listeners) fn();
}

/** applyStatic fills the page's data-i18n* elements in the current language. */
export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  document.title = (lang === 'en' ? 'Shouwang · ' : '守望 · ') + t('app.title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  const other = lang === 'en' ? '中文' : 'English';
  for (const el of root.querySelectorAll('#lang-toggle, [data-lang-switch]')) el.textContent = other;
}
