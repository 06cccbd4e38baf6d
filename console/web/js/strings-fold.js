// Strings of a folded occurrence (alerts/fold.go): repeated readings of an
// open alert written as one timeline entry with their count and highest
// value, in Chinese and English. console/i18n_test.go holds both to the
// same keys.

import { addStrings } from './i18n.js';

const zh = {
  'tlp.count': '共 {count} 次读数', 'tlp.max': '最高 {max}',
};

const en = {
  'tlp.count': '{count} readings', 'tlp.max': 'highest {max}',
};

addStrings(zh, en);
