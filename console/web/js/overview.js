// The overview: open alerts counted by state and severity (from the live
// feed), silent life-safety devices (from the devices summary), and the
// share of alerts accepted within 60 s today and this week.

import * as api from './api.js';
import * as store from './store.js';
import { t, onLangChange } from './i18n.js';
import { h, ago, label, address, percent, errorText } from './format.js';
import { duration } from './timeline.js';
import './strings-loop.js';

const states = ['new', 'accepted', 'dispatched'];
const severities = ['critical', 'major', 'minor'];

let summary = null;
let visible = false;
let refreshTimer = 0;

const $ = (id) => document.getElementById(id);

/** initOverview wires the view. */
export function initOverview() {
  store.onChange(() => { if (visible) renderCounts(); });
  onLangChange(() => { renderCounts(); renderDevices(); renderShare('today'); renderShare('week'); });
}

/** setDevicesSummary keeps the devices summary a snapshot carried. */
export function setDevicesSummary(s) {
  summary = s;
  if (visible) renderDevices();
}

/** showOverview renders the view and refreshes its figures every 30 s while it is shown. */
export function showOverview() {
  visible = true;
  renderCounts();
  renderDevices();
  refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(refresh, 30_000);
}

/** hideOverview stops the refreshing. */
export function hideOverview() {
  visible = false;
  clearInterval(refreshTimer);
}

function refresh() {
  loadSummary();
  loadShare('today', startOfDay());
  loadShare('week', startOfWeek());
}

function startOfDay() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}

// Weeks start on Monday, as in China.
function startOfWeek() {
  const d = startOfDay();
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

function renderCounts() {
  const open = store.openAlerts().filter((a) => !a.test);
  const count = (st, sev) => open.filter((a) => (!st || a.state === st) && (!sev || a.severity === sev)).length;
  const cell = (n, st, sev) => h('td', { dataset: { state: st || 'all', severity: sev || 'all' }, class: n ? 'n' : 'n zero' }, String(n));
  $('overview-counts').replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, ''),
      ...severities.map((s) => h('th', {}, h('span', { class: `sev sev-${s}` }, label('sev', s)))),
      h('th', {}, t('ov.total')))),
    h('tbody', {}, ...[...states, null].map((st) => h('tr', { dataset: { state: st || 'all' } },
      h('th', {}, st ? h('span', { class: `state-tag state-${st}` }, label('state', st)) : t('ov.total')),
      ...severities.map((s) => cell(count(st, s), st, s)),
      cell(count(st, null), st, null)))));
}

async function loadSummary() {
  try {
    summary = await api.get('/api/v1/devices/summary');
  } catch (err) {
    if (!summary) $('overview-devices').textContent = t('ov.failed', { msg: errorText(err) });
    return;
  }
  renderDevices();
}

function renderDevices() {
  if (!summary) return;
  $('overview-devices').textContent = t('ov.devicesLine', { total: summary.total ?? 0, online: summary.online ?? 0, offline: summary.offline ?? 0 });
  const silent = summary.silent || [];
  $('silent-devices').replaceChildren(...silent.map((d) => h('li', { dataset: { deviceId: d.id } },
    h('span', { class: 'mono' }, d.id), ' ',
    h('span', {}, label('dkind', d.kind)), ' · ',
    h('span', {}, typeof d.location === 'string' ? d.location : address(d.location)), ' · ',
    h('span', { class: 'muted' }, ago(d.last_seen)))));
  if (!silent.length) $('silent-devices').append(h('li', { class: 'muted none' }, t('ov.noSilent')));
}

// The latest figures of each period, kept so that a language switch
// redraws them without asking the server again.
const shares = { today: null, week: null };

async function loadShare(which, from) {
  const q = new URLSearchParams({ from: from.toISOString(), to: new Date().toISOString() });
  try {
    shares[which] = { stats: await api.get(`/api/v1/alerts/stats?${q}`) };
  } catch (err) {
    shares[which] = { err };
  }
  renderShare(which);
}

function renderShare(which) {
  const got = shares[which];
  if (!got) return;
  const value = $(`share-${which}`);
  const detail = $(`share-${which}-detail`);
  const medians = $(`share-${which}-medians`);
  medians.textContent = '';
  if (got.err) {
    value.textContent = '—';
    detail.textContent = t('ov.failed', { msg: errorText(got.err) });
    return;
  }
  const s = got.stats;
  if (s.share_within_60s == null) {
    value.textContent = '—';
    value.dataset.meets = '';
    detail.textContent = t('ov.noAlerts');
    return;
  }
  value.textContent = percent(s.share_within_60s);
  const meets = s.share_within_60s >= (s.target_within_60s ?? 0.975);
  value.dataset.meets = String(meets);
  detail.textContent = `${t('ov.shareDetail', { n: s.accepted_within_60s, total: s.alerts })} · ${meets ? t('ov.meets') : t('ov.misses')}`;
  // A median is over the alerts that reached the step: an alert nobody
  // accepted is not in the median time to accept, so it says how many are.
  if (s.median_accept_seconds != null) {
    medians.textContent = t('ov.medianAccept', { d: duration(s.median_accept_seconds), n: s.accepted });
  } else {
    medians.textContent = t('ov.noneAccepted');
  }
}
