// Strings of incidents (alarms of one building, outages), the building
// view and the check-ins of residents living alone, with their timeline
// codes and parameters, in Chinese and English (console/i18n_test.go holds
// both to the same keys and to alerts.TimelineCodes).

import { addStrings } from './i18n.js';

const zh = {
  // Kinds the server sends.
  'kind.no_activity': '独居老人未报平安', 'kind.building_alarm': '楼栋多点报警', 'kind.outage': '批量失联',
  'dkind.door': '门磁', 'dkind.motion': '人体感应',
  // Timeline codes and their parameters.
  'tl.linked': '并入事件', 'tl.incident_joined': '加入事件', 'tl.member_returned': '设备恢复上报',
  'tl.via_incident': '随事件处置', 'tl.checked_in': '住户已报平安',
  'tld.linked': '并入事件 #{incident}', 'tld.via_incident': '随事件 #{incident}：{action}',
  'tld.member_returned': '{device}', 'tld.checked_in': '{device} · {how} · {at}',
  'tlp.incident': '事件 #{incident}', 'tlp.alert': '警情 #{alert}', 'tlp.device': '设备 {device}',
  'tlp.returned': '已恢复 {returned} 台', 'tlp.scope_kind': '{scope_kind}', 'tlp.gateway': '网关 {gateway}',
  'tlp.grace_s': '宽限 {grace_s}', 'tlp.at': '于 {at}', 'tlp.window_start': '报平安时段 {window_start} 起',
  'tlp.window_end': '至 {window_end}', 'tlp.grid_worker': '网格员 {grid_worker}',
  'tlp.last_activity': '最后活动 {last_activity}', 'tlp.last_how': '（{last_how}）', 'tlp.days': '连续第 {days} 天',
  'scopeKind.building': '同一楼栋', 'scopeKind.gateway': '同一网关',
  'via.will': '设备离线遗言', 'via.silent': '超时未上报',
  'how.checkin': '报平安按键', 'how.press': '紧急按键', 'how.door': '开关门', 'how.motion': '有人活动',
  // The incident card in an alert's detail.
  'inc.title': '事件', 'inc.members': '涉及设备', 'inc.units': '单元', 'inc.floors': '楼层',
  'inc.alerts': '{n} 条警情', 'inc.devices': '{n} 台设备', 'inc.returned': '已恢复 {n}/{total}',
  'inc.first': '最早 {t}', 'inc.gateway': '网关 {id}', 'inc.linked': '已并入事件 #{id}', 'inc.open': '查看事件',
  'inc.memberBack': '已恢复', 'inc.memberOff': '失联中', 'inc.memberAlert': '警情 #{id}',
  'inc.evac': '疏散与探视名单', 'inc.evacHelp': '本楼住户，按优先顺序：独居、高龄、行动不便。',
  'inc.evacNone': '本楼未登记住户', 'inc.evacFailed': '名单加载失败：{msg}',
  'inc.age': '{n} 岁', 'inc.household': '门牌', 'inc.queueSummary': '{n} 台设备',
  'reason.lives_alone': '独居', 'reason.mobility': '行动不便', 'reason.age_80': '80 岁以上', 'reason.age_70': '70 岁以上',
  // The building view.
  'nav.buildings': '楼栋', 'nav.checkins': '独居关怀',
  'bld.title': '楼栋一览', 'bld.community': '社区', 'bld.pick': '选择楼栋查看各户状态',
  'bld.households': '{n} 户', 'bld.none': '没有登记的楼栋', 'bld.failed': '楼栋加载失败：{msg}',
  'bld.unit': '{u}', 'bld.floor': '{f}', 'bld.back': '返回楼栋一览', 'bld.legend': '图例',
  'bld.state.alarm': '报警', 'bld.state.fault': '故障', 'bld.state.offline': '离线', 'bld.state.ok': '正常',
  'bld.noHousehold': '—', 'bld.devices': '{n} 台设备', 'bld.aloneMark': '独居',
  'bld.noBuilding': '未登记楼栋', 'bld.noBuildingHelp': '这些住户的设备登记时未填楼栋：请在"设备"中补全',
  'bld.incomplete': '登记不全：{ids}', 'bld.incompleteHelp': '这些设备登记时缺少本户的单元或楼层：请在"设备"中补全',
  'ov.buildings': '各楼栋状态',
  // Check-ins.
  'ci.title': '独居老人每日报平安', 'ci.help': '每户每天须在报平安时段内有活动（报平安按键、紧急按键、开关门、有人活动）；时段结束仍无活动，将生成"未报平安"警情，由网格员上门查看。',
  'ci.state.overdue': '未报平安', 'ci.state.waiting': '待报平安', 'ci.state.checked_in': '今日已报平安',
  'ci.state.quiet': '暂停关怀', 'ci.state.new': '明日起关怀', 'ci.state.off': '未开启',
  'ci.household': '住址', 'ci.state': '状态', 'ci.window': '时段', 'ci.last': '最后活动', 'ci.worker': '网格员',
  'ci.counts': '今日：已报平安 {ok} · 待报 {waiting} · 未报 {overdue} · 暂停 {quiet}',
  'ci.none': '没有需要关怀的住户', 'ci.failed': '名单加载失败：{msg}', 'ci.quiet': '暂停至…',
  'ci.quietUntil': '暂停至 {t}', 'ci.quietNote': '原因（如：住院）', 'ci.quietSet': '设为暂停',
  'ci.quietClear': '恢复关怀', 'ci.saved': '已保存', 'ci.saveFailed': '保存失败：{msg}', 'ci.all': '全部社区',
};

const en = {
  'kind.no_activity': 'No sign of life (lives alone)', 'kind.building_alarm': 'Alarms in one building', 'kind.outage': 'Devices offline together',
  'dkind.door': 'Door contact', 'dkind.motion': 'Motion sensor',
  'tl.linked': 'Joined an incident', 'tl.incident_joined': 'Joined', 'tl.member_returned': 'Device reporting again',
  'tl.via_incident': 'Followed the incident', 'tl.checked_in': 'The resident showed a sign of life',
  'tld.linked': 'joined incident #{incident}', 'tld.via_incident': 'incident #{incident}: {action}',
  'tld.member_returned': '{device}', 'tld.checked_in': '{device} · {how} · {at}',
  'tlp.incident': 'incident #{incident}', 'tlp.alert': 'alert #{alert}', 'tlp.device': 'device {device}',
  'tlp.returned': '{returned} back', 'tlp.scope_kind': '{scope_kind}', 'tlp.gateway': 'gateway {gateway}',
  'tlp.grace_s': 'grace {grace_s}', 'tlp.at': 'at {at}', 'tlp.window_start': 'check-in window from {window_start}',
  'tlp.window_end': 'to {window_end}', 'tlp.grid_worker': 'grid worker {grid_worker}',
  'tlp.last_activity': 'last sign of life {last_activity}', 'tlp.last_how': '({last_how})', 'tlp.days': 'day {days} in a row',
  'scopeKind.building': 'one building', 'scopeKind.gateway': 'one gateway',
  'via.will': 'the device\'s last will', 'via.silent': 'silent past its reporting time',
  'how.checkin': 'check-in key', 'how.press': 'emergency key', 'how.door': 'door opened or closed', 'how.motion': 'movement',
  'inc.title': 'Incident', 'inc.members': 'Devices', 'inc.units': 'Units', 'inc.floors': 'Floors',
  'inc.alerts': '{n} alerts', 'inc.alerts.one': '{n} alert', 'inc.devices': '{n} devices', 'inc.devices.one': '{n} device', 'inc.returned': '{n} of {total} back',
  'inc.first': 'first {t}', 'inc.gateway': 'gateway {id}', 'inc.linked': 'Part of incident #{id}', 'inc.open': 'Open the incident',
  'inc.memberBack': 'back', 'inc.memberOff': 'offline', 'inc.memberAlert': 'alert #{id}',
  'inc.evac': 'Evacuation and visit list', 'inc.evacHelp': 'The building\'s households in order: living alone, oldest, mobility needs.',
  'inc.evacNone': 'No households registered in this building', 'inc.evacFailed': 'Could not load the list: {msg}',
  'inc.age': 'age {n}', 'inc.household': 'Household', 'inc.queueSummary': '{n} devices', 'inc.queueSummary.one': '{n} device',
  'reason.lives_alone': 'lives alone', 'reason.mobility': 'mobility needs', 'reason.age_80': '80 or over', 'reason.age_70': '70 or over',
  'nav.buildings': 'Buildings', 'nav.checkins': 'Check-ins',
  'bld.title': 'Buildings', 'bld.community': 'Community', 'bld.pick': 'Pick a building to see its households',
  'bld.households': '{n} households', 'bld.households.one': '{n} household', 'bld.none': 'No buildings registered', 'bld.failed': 'Could not load the buildings: {msg}',
  'bld.unit': '{u}', 'bld.floor': '{f}', 'bld.back': 'Back to the buildings', 'bld.legend': 'Legend',
  'bld.state.alarm': 'alarm', 'bld.state.fault': 'fault', 'bld.state.offline': 'offline', 'bld.state.ok': 'ok',
  'bld.noHousehold': '—', 'bld.devices': '{n} devices', 'bld.devices.one': '{n} device', 'bld.aloneMark': 'alone',
  'bld.noBuilding': 'No building registered', 'bld.noBuildingHelp': 'These households\' devices were registered without a building: complete them under Devices',
  'bld.incomplete': 'Incomplete registration: {ids}', 'bld.incompleteHelp': 'These devices were registered without the unit or floor of this household: complete them under Devices',
  'ov.buildings': 'Buildings at a glance',
  'ci.title': 'Daily check-ins of residents living alone', 'ci.help': 'Each household must show a sign of life in its window every day (check-in key, emergency key, a door, movement); if none by the end, a "no sign of life" alert opens for the grid worker to visit.',
  'ci.state.overdue': 'overdue', 'ci.state.waiting': 'waiting', 'ci.state.checked_in': 'checked in today',
  'ci.state.quiet': 'paused', 'ci.state.new': 'watched from tomorrow', 'ci.state.off': 'not watched',
  'ci.household': 'Address', 'ci.state': 'State', 'ci.window': 'Window', 'ci.last': 'Last sign of life', 'ci.worker': 'Grid worker',
  'ci.counts': 'Today: {ok} checked in · {waiting} waiting · {overdue} overdue · {quiet} paused',
  'ci.none': 'No households watched', 'ci.failed': 'Could not load the list: {msg}', 'ci.quiet': 'Pause until…',
  'ci.quietUntil': 'paused until {t}', 'ci.quietNote': 'Why (e.g. in hospital)', 'ci.quietSet': 'Pause',
  'ci.quietClear': 'Watch again', 'ci.saved': 'Saved', 'ci.saveFailed': 'Save failed: {msg}', 'ci.all': 'All communities',
};

addStrings(zh, en);
