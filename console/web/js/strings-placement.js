// Strings of the placement warnings (devices.PlacementWarnings): a device
// registered without its unit or floor, or on another floor than its
// household's, in Chinese and English. {id}, {building}, {unit}, {units},
// {household}, {floor}, {other} and {other_floor} are data, shown as they
// were registered. console/i18n_test.go holds both to the same keys.

import { addStrings } from './i18n.js';

const zh = {
  'pw.title': '请核对以下设备的位置（设备已登记）',
  'pw.unit_missing.joined': '{id}：未填单元，已按同户其他设备归入 {building} {unit} {household} 户',
  'pw.unit_missing.ambiguous': '{id}：未填单元，{building} 的 {units} 都有 {household} 户，无法判断归属，暂作单独一户——请补填单元',
  'pw.unit_missing.alone': '{id}：未填单元（{building} 的设备填有单元），该楼没有哪个单元有 {household} 户，暂作单独一户——请补填单元',
  'pw.floor_missing': '{id}：未填楼层，{household} 户按同户其他设备显示在 {floor}',
  'pw.floor_missing.none': '{id}：未填楼层（{building} 的设备填有楼层），{household} 户没有楼层——请补填',
  'pw.floor_differs': '{id}：楼层 {floor} 与同户设备 {other} 的 {other_floor} 不一致，楼栋图只按其中一层显示该户——请改正',
  'pw.line': '第 {line} 行：',
  'pw.sep': '、',
  'imp.doneWarned': '已导入 {n} 台设备，其中 {m} 台需核对位置',
};

const en = {
  'pw.title': 'Check where these devices belong (they are registered)',
  'pw.unit_missing.joined': '{id}: no unit given; placed in household {household} of {unit}, {building}, as its other devices give it',
  'pw.unit_missing.ambiguous': '{id}: no unit given; not placed: {units} of {building} each have a household {household}, so it stands as a household of its own — give its unit',
  'pw.unit_missing.alone': '{id}: no unit given, though {building}\'s devices name units; no unit has a household {household}, so it stands as a household of its own — give its unit',
  'pw.floor_missing': '{id}: no floor given; household {household} is shown on floor {floor}, as its other devices give it',
  'pw.floor_missing.none': '{id}: no floor given, though {building}\'s devices name floors; household {household} has no floor — give it',
  'pw.floor_differs': '{id}: floor {floor} differs from floor {other_floor} of {other} in the same household; the building view shows the household on one floor — correct the wrong one',
  'pw.line': 'Line {line}: ',
  'pw.sep': ', ',
  'imp.doneWarned': 'Imported {n} devices; {m} need their place checked',
  'imp.doneWarned.one': 'Imported {n} device; {m} needs its place checked',
};

addStrings(zh, en);
