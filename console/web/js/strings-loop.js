// Strings of the duty room's closed loop as issue 16 shaped it — choosing
// an outcome, confirming a keyboard action, the answer-time figures; the
// grid worker's task on foot, photos, follow-ups and reviews; the figures
// per community and grid and the monthly report — in Chinese and English
// (console/i18n_test.go holds both to the same keys).

import { addStrings } from './i18n.js';

const zh = {
  'act.needOutcome': '请先选择处置结果', 'act.chooseOutcome': '— 选择处置结果 —',
  'confirm.resolve': '确认将警情 #{id} 处置完成，结果为「{outcome}」？', 'confirm.dispatch': '确认为警情 #{id} 派单给「{to}」？',
  'confirm.no': '取消',
  'ov.medianAccept': '接警用时中位数 {d}（仅计已接警的 {n} 条）', 'ov.noneAccepted': '尚无已接警的警情，无接警用时',

  // The grid worker's task.
  'nav.tasks': '任务',
  'act.take': '接单', 'act.arrive': '已到达', 'act.photo': '拍照上传', 'act.followup': '记录回访', 'act.review': '复核关闭',
  'act.done.take': '已接单', 'act.done.arrive': '已记录到达', 'act.done.followup': '已记录回访', 'act.done.photo': '照片已上传',
  'act.failed.take': '接单失败：{msg}', 'act.failed.arrive': '记录到达失败：{msg}', 'act.failed.followup': '回访记录失败：{msg}',
  'act.failed.photo': '照片上传失败：{msg}', 'act.photoUploading': '正在上传照片…',
  'act.needRating': '请先选择评分', 'act.chooseRating': '— 评分 —',
  'rating.5': '5 分（优秀）', 'rating.4': '4 分（良好）', 'rating.3': '3 分（一般）', 'rating.2': '2 分（较差）', 'rating.1': '1 分（差）',
  'task.title': '网格员任务', 'task.mine': '派给我', 'task.state.sent': '已派单，待接单', 'task.state.taken': '已接单，前往中',
  'task.state.arrived': '已到场', 'task.state.handled': '已处置', 'task.worker': '网格员 {name}',
  'detail.residentPhone': '住户电话', 'detail.callResident': '拨打住户电话',
  'dispatch.110': '110 报警', 'dispatch.property': '物业', 'dispatch.family': '家属', 'dispatch.worker': '网格员 {name}',
  'dispatch.gridWorkers': '网格员账号', 'dispatch.parties': '部门与其他',
  'followups.title': '待回访', 'followups.due': '应于 {t} 前回访', 'followups.overdue': '已逾期',
  'fu.title': '回访', 'fu.method': '方式', 'fu.result': '回访结果', 'fu.evaluation': '住户或家属评价',
  'fu.done': '{by} 于 {t} 回访', 'fu.dueAt': '应于 {t} 前回访', 'fu.onTime': '按时', 'fu.late': '逾期',
  'fuMethod.call': '电话回访', 'fuMethod.visit': '上门回访',
  'fuResult.resident_ok': '住户安好', 'fuResult.needs_help': '仍需帮助', 'fuResult.not_reached': '未联系上',
  'fuEval.satisfied': '满意', 'fuEval.basically_satisfied': '基本满意', 'fuEval.dissatisfied': '不满意', 'fuEval.not_given': '未评价',
  'review.done': '{by} 复核，评分 {rating}', 'review.noRating': '{by} 复核',
  'photo.alt': '现场照片 {n}', 'dev.notifySOS': '住户呼救时短信告知以上联系人',

  // Timeline codes of the loop.
  'tl.task_taken': '网格员接单', 'tl.arrived': '网格员到场', 'tl.photo': '现场照片', 'tl.followed_up': '回访',
  'tl.followup_overdue': '回访逾期',
  'tld.task_taken': '{worker}', 'tld.arrived': '{worker}，报警后 {since_s}', 'tld.followed_up': '{method} · {result} · {evaluation}',
  'tld.followup_overdue': '应于 {due} 前回访', 'tld.closed': '评分 {rating}',
  'tlp.worker': '网格员 {worker}', 'tlp.followup_due': '应于 {followup_due} 前回访', 'tlp.late_s': '逾期 {late_s}',
  'tlp.rating': '评分 {rating}',

  // Errors the server names by key.
  'err.task.sent_to': '警情 #{id} 已派给 {worker}', 'err.task.taken_already': '您已接单', 'err.task.taken_by': '警情 #{id} 已由 {worker} 接单',
  'err.task.take_first': '请先接单', 'err.task.arrived_already': '已记录到达', 'err.task.no_worker': '{worker} 不是网格员账号',
  'err.followup.required': '请填写回访方式、结果和评价', 'err.followup.bad_field': '请选择{field}',
  'err.followup.done_already': '警情 #{id} 已由 {by} 回访', 'err.review.bad_rating': '评分须为 1 至 5 分',
  'err.photo.empty': '照片是空的', 'err.photo.too_large': '照片超过 {max_mb} MB', 'err.photo.type': '只能上传 JPEG 或 PNG 照片',
  'err.photo.dimensions': '图片尺寸异常，不是照片', 'err.photo.off': '本系统未开启照片保存', 'err.photo.not_found': '照片不存在',
  'err.photo.closed': '警情 #{id} 已关闭，不能再上传照片', 'err.photo.too_many': '警情 #{id} 的照片已达上限（{max} 张）',
  'err.grid.format': '网格须写作「社区/网格」', 'err.grid.required': '网格员至少负责一个网格', 'err.grid.not_gridworker': '只有网格员绑定网格',
  'err.report.bad_month': '月份格式应为 2026-03', 'err.report.bad_tz': '时区无效',
  'role.gridworker': '网格员',
  'verb.take': '接单', 'verb.arrive': '记录到达', 'verb.followup': '回访', 'verb.photo': '上传照片',
  'fieldName.method': '回访方式', 'fieldName.result': '回访结果', 'fieldName.evaluation': '评价', 'fieldName.worker': '网格员',
  'fieldName.phone': '电话',

  // Figures per community and grid, and the monthly report.
  'ov.figures': '本月闭环指标（按社区、网格）', 'ov.report': '月报', 'fig.total': '（社区合计）',
  'fig.community': '社区', 'fig.grid': '网格', 'fig.alerts': '警情', 'fig.share60': '60 秒接警率', 'fig.share180': '180 秒接警率',
  'fig.medianAccept': '接警用时中位数', 'fig.medianArrive': '到场用时中位数', 'fig.followups': '按时回访',
  'fig.falseAlarms': '误报率', 'fig.rating': '平均评分', 'fig.none': '本月暂无警情',
  'fig.of': '{n}/{total}', 'fig.medianNote': '中位数只计到达该步骤的警情：接警用时计已接警的，到场用时计网格员已到场的。',
  'nav.report': '月报', 'report.title': '社区警情闭环月报', 'report.month': '月份', 'report.community': '社区',
  'report.all': '全部社区', 'report.print': '打印', 'report.csv': '下载 CSV', 'report.period': '{from} 至 {to}',
  'report.failed': '月报加载失败：{msg}', 'report.generated': '生成于 {t}', 'report.back': '返回总览',
};

const en = {
  'act.needOutcome': 'Choose the outcome first', 'act.chooseOutcome': '— choose the outcome —',
  'confirm.resolve': 'Resolve alert #{id} as "{outcome}"?', 'confirm.dispatch': 'Dispatch alert #{id} to "{to}"?',
  'confirm.no': 'Cancel',
  'ov.medianAccept': 'median time to accept {d} (of the {n} accepted alerts only)', 'ov.noneAccepted': 'no alert accepted yet, so no time to accept',

  'nav.tasks': 'Tasks',
  'act.take': 'Take the task', 'act.arrive': 'Arrived', 'act.photo': 'Take a photo', 'act.followup': 'Record follow-up', 'act.review': 'Review & close',
  'act.done.take': 'Task taken', 'act.done.arrive': 'Arrival recorded', 'act.done.followup': 'Follow-up recorded', 'act.done.photo': 'Photo uploaded',
  'act.failed.take': 'Could not take the task: {msg}', 'act.failed.arrive': 'Could not record the arrival: {msg}',
  'act.failed.followup': 'Could not record the follow-up: {msg}', 'act.failed.photo': 'Photo upload failed: {msg}',
  'act.photoUploading': 'Uploading the photo…',
  'act.needRating': 'Choose a rating first', 'act.chooseRating': '— rating —',
  'rating.5': '5 (excellent)', 'rating.4': '4 (good)', 'rating.3': '3 (fair)', 'rating.2': '2 (poor)', 'rating.1': '1 (bad)',
  'task.title': "Grid worker's task", 'task.mine': 'sent to me', 'task.state.sent': 'sent, not yet taken', 'task.state.taken': 'taken, on the way',
  'task.state.arrived': 'at the household', 'task.state.handled': 'handled', 'task.worker': 'grid worker {name}',
  'detail.residentPhone': "Resident's phone", 'detail.callResident': 'Call the resident',
  'dispatch.110': '110 police', 'dispatch.property': 'Property management', 'dispatch.family': 'Family', 'dispatch.worker': 'Grid worker {name}',
  'dispatch.gridWorkers': 'Grid workers', 'dispatch.parties': 'Services and others',
  'followups.title': 'Follow-ups due', 'followups.due': 'due by {t}', 'followups.overdue': 'overdue',
  'fu.title': 'Follow-up', 'fu.method': 'How', 'fu.result': 'What was found', 'fu.evaluation': "Resident's or family's evaluation",
  'fu.done': 'followed up by {by} at {t}', 'fu.dueAt': 'due by {t}', 'fu.onTime': 'on time', 'fu.late': 'late',
  'fuMethod.call': 'by phone', 'fuMethod.visit': 'visit',
  'fuResult.resident_ok': 'resident is well', 'fuResult.needs_help': 'still needs help', 'fuResult.not_reached': 'not reached',
  'fuEval.satisfied': 'satisfied', 'fuEval.basically_satisfied': 'mostly satisfied', 'fuEval.dissatisfied': 'dissatisfied', 'fuEval.not_given': 'no evaluation',
  'review.done': 'reviewed by {by}, rated {rating}', 'review.noRating': 'reviewed by {by}',
  'photo.alt': 'photo {n} from the household', 'dev.notifySOS': 'Text these contacts when the resident calls for help',

  'tl.task_taken': 'Task taken', 'tl.arrived': 'Grid worker arrived', 'tl.photo': 'Photo', 'tl.followed_up': 'Followed up',
  'tl.followup_overdue': 'Follow-up overdue',
  'tld.task_taken': '{worker}', 'tld.arrived': '{worker}, {since_s} after the alarm', 'tld.followed_up': '{method} · {result} · {evaluation}',
  'tld.followup_overdue': 'was due by {due}', 'tld.closed': 'rated {rating}',
  'tlp.worker': 'grid worker {worker}', 'tlp.followup_due': 'follow-up due by {followup_due}', 'tlp.late_s': '{late_s} late',
  'tlp.rating': 'rated {rating}',

  'err.task.sent_to': 'Alert #{id} was sent to {worker}', 'err.task.taken_already': 'You have taken this task already',
  'err.task.taken_by': 'Alert #{id} was taken by {worker}', 'err.task.take_first': 'Take the task first',
  'err.task.arrived_already': 'Your arrival is recorded already', 'err.task.no_worker': "{worker} is not a grid worker's account",
  'err.followup.required': 'Say how the resident was reached, what was found and how they judged it', 'err.followup.bad_field': 'Choose {field}',
  'err.followup.done_already': 'Alert #{id} was followed up already by {by}', 'err.review.bad_rating': 'A rating is 1 to 5',
  'err.photo.empty': 'The photo is empty', 'err.photo.too_large': 'The photo is larger than {max_mb} MB', 'err.photo.type': 'Only JPEG or PNG photos',
  'err.photo.dimensions': 'The picture\'s size is not a photo\'s', 'err.photo.off': 'This hub keeps no photos', 'err.photo.not_found': 'No such photo',
  'err.photo.closed': 'Alert #{id} is closed: no more photos', 'err.photo.too_many': 'Alert #{id} has the most photos it keeps ({max})',
  'err.grid.format': 'Write a grid as community/grid', 'err.grid.required': 'A grid worker looks after at least one grid',
  'err.grid.not_gridworker': 'Only grid workers are bound to grids',
  'err.report.bad_month': 'Write the month as 2026-03', 'err.report.bad_tz': 'Not a time zone',
  'role.gridworker': 'grid worker',
  'verb.take': 'take tasks', 'verb.arrive': 'record arrivals', 'verb.followup': 'follow up', 'verb.photo': 'add photos',
  'fieldName.method': 'how it was done', 'fieldName.result': 'what was found', 'fieldName.evaluation': 'the evaluation',
  'fieldName.worker': 'The grid worker', 'fieldName.phone': 'The phone',

  'ov.figures': 'This month per community and grid', 'ov.report': 'Monthly report', 'fig.total': '(community total)',
  'fig.community': 'Community', 'fig.grid': 'Grid', 'fig.alerts': 'Alerts', 'fig.share60': 'Within 60 s', 'fig.share180': 'Within 180 s',
  'fig.medianAccept': 'Median to accept', 'fig.medianArrive': 'Median to arrive', 'fig.followups': 'Follow-ups on time',
  'fig.falseAlarms': 'False alarms', 'fig.rating': 'Mean rating', 'fig.none': 'No alerts this month',
  'fig.of': '{n} of {total}', 'fig.medianNote': 'Medians count only the alerts that reached the step: accepted ones to accept, ones a grid worker reached to arrive.',
  'nav.report': 'Report', 'report.title': 'Monthly closed-loop report', 'report.month': 'Month', 'report.community': 'Community',
  'report.all': 'All communities', 'report.print': 'Print', 'report.csv': 'Download CSV', 'report.period': '{from} to {to}',
  'report.failed': 'Could not load the report: {msg}', 'report.generated': 'made {t}', 'report.back': 'Back to the overview',
};

addStrings(zh, en);
