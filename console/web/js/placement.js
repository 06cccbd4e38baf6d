// Placement warnings: where a device just registered was placed when its
// registration left its household in doubt (no unit, no floor, a floor
// that differs from its household's). The server sends codes and data;
// the text is made here in the reader's language, the data kept as it was
// registered (translate="no").

import { t } from './i18n.js';
import { h } from './format.js';
import './strings-placement.js';

// keyOf is a warning's string.
function keyOf(w) {
  if (w.code === 'unit_missing') return `pw.unit_missing.${w.placed}`;
  if (w.code === 'floor_missing' && !w.floor) return 'pw.floor_missing.none';
  return `pw.${w.code}`;
}

// fill renders key with each {param} as data the page does not translate.
function fill(key, params) {
  const nodes = [];
  const s = t(key);
  let last = 0;
  for (const m of s.matchAll(/\{(\w+)\}/g)) {
    if (m.index > last) nodes.push(s.slice(last, m.index));
    nodes.push(m[1] in params ? h('span', { class: 'data', translate: 'no' }, String(params[m[1]])) : m[0]);
    last = m.index + m[0].length;
  }
  if (last < s.length) nodes.push(s.slice(last));
  return nodes;
}

/** warningItem is one warning as a list item; line says its CSV line. */
export function warningItem(w, line) {
  const params = { ...w, units: (w.units || []).join(t('pw.sep')) };
  return h('li', { dataset: { code: w.code, placed: w.placed || '', id: w.id, line: w.line || '' } },
    ...(line && w.line ? fill('pw.line', { line: w.line }) : []), ...fill(keyOf(w), params));
}

/**
 * showWarnings fills the list el with warnings (or hides it when there are
 * none), under a title; line: whether to say each one's CSV line.
 */
export function showWarnings(el, warnings, line) {
  const ws = warnings || [];
  el.hidden = ws.length === 0;
  el.replaceChildren(...(ws.length ? [h('p', { class: 'pw-title' }, t('pw.title')),
    h('ul', {}, ...ws.map((w) => warningItem(w, line)))] : []));
}
