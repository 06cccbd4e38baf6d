// Small helpers shared by the views: building elements safely (text only,
// never HTML from data) and formatting times, durations and labels.

import { t, currentLang, has } from './i18n.js';
import './strings-timeline.js';

/**
 * h builds an element: h('td', {class: 'x', dataset: {id: 1}}, 'text', child…).
 * Strings become text nodes, so data can never inject markup.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** ms parses an API time (RFC 3339) into epoch milliseconds; 0 for none. */
export function ms(v) {
  if (!v) return 0;
  const n = Date.parse(v);
  return Number.isNaN(n) ? 0 : n;
}

/** clock renders a duration in ms as m:ss or h:mm:ss. */
export function clock(d) {
  const s = Math.max(0, Math.floor(d / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${p(mm)}:${p(ss)}` : `${mm}:${p(ss)}`;
}

/** ago renders how long ago a time was, roughly. */
export function ago(v, now = Date.now()) {
  const at = ms(v);
  if (!at) return t('dev.never');
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return t('ago.s', { n: s });
  if (s < 3600) return t('ago.m', { n: Math.floor(s / 60) });
  if (s < 86400) return t('ago.h', { n: Math.floor(s / 3600) });
  return t('ago.d', { n: Math.floor(s / 86400) });
}

/** dateTime renders a time as local date and time to the second. */
export function dateTime(v) {
  const at = ms(v);
  if (!at) return '—';
  return new Intl.DateTimeFormat(currentLang(), {
    month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(at);
}

/** timeOfDay renders a time as local hh:mm:ss. */
export function timeOfDay(v) {
  const at = typeof v === 'number' ? v : ms(v);
  if (!at) return '—';
  return new Intl.DateTimeFormat(currentLang(), { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(at);
}

/** label translates prefix.value, falling back to the raw value for one the page does not know. */
export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return has(key) ? t(key) : String(value ?? '');
}

/** address renders a location from community down to household. */
export function address(loc) {
  if (!loc) return '';
  return [loc.community, loc.grid, loc.building, loc.unit, loc.floor, loc.household].filter(Boolean).join(' / ');
}

/** shortAddress renders a location for a queue row: community, building, unit and household. */
export function shortAddress(loc) {
  if (!loc) return '';
  return [loc.community, loc.building, loc.unit, loc.household].filter(Boolean).join(' ');
}

/** percent renders a share 0..1 with one decimal. */
export function percent(v) {
  return `${(v * 100).toFixed(1)}%`;
}

/** severityRank orders severities: critical 3, major 2, minor 1. */
export function severityRank(s) {
  return { critical: 3, major: 2, minor: 1 }[s] || 0;
}

/**
 * errorText renders an ApiError for a person in the page's language: the
 * message the server names by key (err.<key>, with its parameters), else in
 * English the server's own words and in Chinese what kind of failure it was;
 * or why the server was not reached.
 */
export function errorText(err) {
  if (!err) return '';
  if (err.status === 0) return t('err.network', { msg: err.message });
  const key = err.body?.key;
  if (key && has(`err.${key}`)) return t(`err.${key}`, errorParams(err.body.params || {}));
  if (currentLang() === 'en' && err.message) return err.message;
  return has(`err.code.${err.code}`) ? t(`err.code.${err.code}`) : t('err.code.internal');
}

// errorParams renders an error's parameters: codes as the page's words.
function errorParams(p) {
  const out = {};
  for (const [k, v] of Object.entries(p)) {
    const prefix = { role: 'role', action: 'verb', state: 'state', field: 'fieldName' }[k];
    out[k] = prefix ? label(prefix, v) : v;
  }
  return out;
}
