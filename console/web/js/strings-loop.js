// Strings of the duty room's closed loop as issue 16 shaped it: choosing an
// outcome, confirming a keyboard action, the answer-time figures, in
// Chinese and English (console/i18n_test.go holds both to the same keys).

import { addStrings } from './i18n.js';

const zh = {
  'act.needOutcome': '请先选择处置结果', 'act.chooseOutcome': '— 选择处置结果 —',
  'confirm.resolve': '确认将警情 #{id} 处置完成，结果为「{outcome}」？', 'confirm.dispatch': '确认为警情 #{id} 派单给「{to}」？',
  'confirm.no': '取消',
  'ov.medianAccept': '接警用时中位数 {d}（仅计已接警的 {n} 条）', 'ov.noneAccepted': '尚无已接警的警情，无接警用时',
};

const en = {
  'act.needOutcome': 'Choose the outcome first', 'act.chooseOutcome': '— choose the outcome —',
  'confirm.resolve': 'Resolve alert #{id} as "{outcome}"?', 'confirm.dispatch': 'Dispatch alert #{id} to "{to}"?',
  'confirm.no': 'Cancel',
  'ov.medianAccept': 'median time to accept {d} (of the {n} accepted alerts only)', 'ov.noneAccepted': 'no alert accepted yet, so no time to accept',
};

addStrings(zh, en);
