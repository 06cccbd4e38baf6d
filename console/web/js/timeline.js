// An alert's timeline, said in the page's language. The hub writes each
// entry as a code (its action) with parameters (its data) and never words of
// its own (alerts/timeline.go); this module renders them: the action's name
// (tl.<code>), a detail line (tld.<code> when every placeholder it names is
// present, else one phrase tlp.<param> per parameter worth showing), who did
// it, and a person's note as they wrote it. Data people registered or typed
// (names, phone numbers, free text) is marked translate="no": it stays as
// written in either language.
//
// Adding a code: see /work/notes/timeline-codes.md.

import './strings-timeline.js';
import './strings-incidents.js';
import './strings-fold.js';
import { t, has } from './i18n.js';
import { h, dateTime, label } from './format.js';

// How a parameter is shown, by its name.
const durations = new Set(['waited_s', 'since_s', 'duration', 'reporting', 'silent_for', 'within_s', 'late_s', 'grace_s']);
const times = new Set(['due', 'next', 'last_seen', 'opened_at', 'followup_due', 'at', 'window_start', 'window_end', 'last_activity']);
const codes = {
  outcome: 'outcome', reason: 'callReason', event: 'event', type: 'ackType', via: 'via',
  error: 'notifyError', channel: 'channel', party: 'party', field: 'field', grade: 'grade',
  result: 'fuResult', evaluation: 'fuEval', method: 'fuMethod',
  how: 'how', last_how: 'how', scope_kind: 'scopeKind', action: 'verb',
};
const people = new Set(['by', 'answered_by', 'worker', 'name', 'dispatched_to', 'provider', 'to_name', 'device', 'gateway', 'grid_worker']);

/** duration renders whole seconds (or an older entry's Go form, "2m0s") as a duration in the page's language. */
export function duration(v) {
  let s = Number(v);
  if (!Number.isFinite(s)) s = goSeconds(String(v));
  if (!Number.isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const parts = [];
  if (hh) parts.push(t('dur.h', { n: hh }));
  if (mm) parts.push(t('dur.m', { n: mm }));
  if (ss || !parts.length) parts.push(t('dur.s', { n: ss }));
  return parts.join(t('dur.sep'));
}

// goSeconds reads Go's duration form ("1h2m3.5s") as seconds; NaN if it is not one.
function goSeconds(v) {
  const re = /([0-9.]+)(h|m|s|ms)/g;
  let total = 0, seen = '', m;
  while ((m = re.exec(v)) !== null) {
    seen += m[0];
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2]];
  }
  return seen === v && v ? total : NaN;
}

/** data marks a value someone registered or typed, which is shown as it is in either language. */
export function data(v) {
  return h('span', { class: 'data', translate: 'no' }, String(v));
}

// param renders one parameter: a string, or a node for data.
function param(name, v, action) {
  if (v === undefined || v === null || v === '') return null;
  if (durations.has(name)) return duration(v);
  if (times.has(name)) return dateTime(v);
  if ((name === 'from' || name === 'to') && action === 'severity_raised') return label('kind', v);
  if (name === 'to' && action === 'dispatched') return target(v);
  if (name === 'to') return data(v); // a phone number told
  if (name === 'reason' && action === 'notify_unrouted') return label('unrouted', v);
  if (name === 'reason' && action === 'call_released') return label('callReason', v);
  // A device's status (online, offline) or a server's HTTP status (a number).
  if (name === 'status') return /^[0-9]+$/.test(String(v)) ? String(v) : label('devStatus', v);
  // Who hung up: the device, or an operator by name.
  if (name === 'by' && action === 'call_ended' && v === 'device') return t('tl.device');
  if (name in codes) {
    const prefix = codes[name];
    return prefix && has(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : data(v);
  }
  if (people.has(name)) return data(v);
  return String(v);
}

/** target renders a dispatch target: a code the page knows (119, the gas company…) or what was typed. */
export function target(v) {
  const [code, who] = String(v).split(':');
  if (code === 'grid_worker' && who) return h('span', {}, t('dispatch.grid_worker'), ' ', data(who));
  const known = { 网格员: 'grid_worker', 燃气公司: 'gas', 物业: 'property', 家属: 'family' }[v] || v;
  return has(`dispatch.${known}`) ? t(`dispatch.${known}`) : data(v);
}

// params renders every parameter of e, with those the page can work out
// for older entries that lack them (an escalation's wait from its time).
function params(e, alert) {
  const d = { ...(e.data || {}) };
  if (e.action === 'escalated' && d.waited_s === undefined && alert?.opened_at) {
    d.waited_s = Math.round((Date.parse(e.at) - Date.parse(alert.opened_at)) / 1000);
  }
  if (e.action === 'reminder' && d.since_s === undefined && alert?.dispatched_at) {
    d.since_s = Math.round((Date.parse(e.at) - Date.parse(alert.dispatched_at)) / 1000);
  }
  const out = {};
  for (const [k, v] of Object.entries(d)) {
    const p = param(k, v, e.action);
    if (p !== null && p !== '') out[k] = p;
  }
  return out;
}

// fill fills template key with p, as a list of strings and nodes; null if
// the template names a parameter p lacks ({name?} may be left out).
function fill(key, p) {
  const parts = [];
  let missing = false;
  const re = /\{(\w+)(\?)?\}/g;
  const s = t(key);
  let last = 0, m;
  while ((m = re.exec(s)) !== null) {
    parts.push(s.slice(last, m.index));
    if (!(m[1] in p) && !m[2]) missing = true;
    parts.push(p[m[1]] ?? '');
    last = re.lastIndex;
  }
  parts.push(s.slice(last));
  return missing ? null : parts.filter((x) => x !== '');
}

/** tn is t for a string whose parameters may be nodes (data shown as typed): it returns the parts to append. */
export function tn(key, params) {
  return fill(key, params) || [t(key, params)];
}

/** detail returns the nodes and strings of an entry's detail line (empty when it has none). */
export function detail(e, alert) {
  const p = params(e, alert);
  if (has(`tld.${e.action}`)) {
    const parts = fill(`tld.${e.action}`, p);
    if (parts) return parts;
  }
  const out = [];
  for (const k of Object.keys(p)) {
    const parts = has(`tlp.${k}`) && fill(`tlp.${k}`, p);
    if (!parts) continue;
    if (out.length) out.push(' · ');
    out.push(...parts);
  }
  return out;
}

/** actor renders who did it: the hub, the device, or a person's name. */
export function actor(e) {
  const role = e.actor?.role;
  if (role === 'system') return t('tl.system');
  if (role === 'device') return t('tl.device');
  return e.actor?.name ? data(e.actor.name) : null;
}

/**
 * entry renders one timeline entry as an <li>; extra(e) may add nodes of
 * its own (a call's recordings, a photo).
 */
export function entry(e, alert, extra = () => null) {
  const who = actor(e);
  const more = detail(e, alert);
  return h('li', { dataset: { action: e.action } },
    h('time', { datetime: e.at }, dateTime(e.at)),
    h('span', { class: 'tl-action' }, has(`tl.${e.action}`) ? t(`tl.${e.action}`) : t('tl.unknown')),
    who && h('span', { class: 'tl-actor' }, who),
    more.length > 0 && h('span', { class: 'tl-data' }, ...more),
    e.note && h('div', { class: 'tl-note', translate: 'no' }, e.note),
    extra(e));
}
