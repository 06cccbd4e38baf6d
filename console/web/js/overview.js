// The overview: open alerts counted by state and severity (from the live
// feed), silent life-safety devices (from the devices summary), the share
// of alerts accepted within 60 s today and this week, and this month's
// closed-loop figures per community and grid (answer time, time to arrive,
// follow-ups on time, false alarms, ratings) with the way to the monthly
// report.

import * as api from './api.js';
import * as store from './store.js';
import { t, onLangChange } from './i18n.js';
import { h, ago, label, address, percent, errorText } from './format.js';
import { duration, data } from './timeline.js';
import './strings-loop.js';
import * as channels from './channels.js';

const states = ['new', 'accepted', 'dispatched'];
const severities = ['critical', 'major', 'minor'];

let summary = null;
let visible = false;
let refreshTimer = 0;

const $ = (id) => document.getElementById(id);

/** initOverview wires the view; report() opens the monthly report. */
export function initOverview({ report }) {
  store.onChange(() => { if (visible) renderCounts(); });
  onLangChange(() => { renderCounts(); renderDevices(); renderShare('today'); renderShare('week'); renderFigures(); renderInstances(); });
  $('open-report').addEventListener('click', report);
  channels.init();
}

let role = '';

/** setRole says who looks at the overview (supervisors and admins see the notification channels). */
export function setRole(r) { role = r; }

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
  channels.show(role);
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
  loadInstances();
  loadShare('today', startOfDay());
  loadShare('week', startOfWeek());
  loadFigures();
}

function startOfMonth() {
  const d = startOfDay();
  d.setDate(1);
  return d;
}

// This month's figures per community and grid.
let figures = null;

async function loadFigures() {
  const q = new URLSearchParams({ from: startOfMonth().toISOString(), to: new Date().toISOString() });
  try {
    figures = { rows: (await api.get(`/api/v1/alerts/figures?${q}`)).figures || [] };
  } catch (err) {
    figures = { err };
  }
  renderFigures();
}

function renderFigures() {
  const table = $('figures-table');
  if (!figures) return;
  if (figures.err) {
    table.replaceChildren(h('caption', {}, t('ov.failed', { msg: errorText(figures.err) })));
    return;
  }
  table.replaceChildren(...figuresTable(figures.rows));
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
    h('span', { class: 'mono', translate: 'no' }, d.id), ' ',
    h('span', {}, label('dkind', d.kind)), ' · ',
    h('span', { translate: 'no' }, typeof d.location === 'string' ? d.location : address(d.location)), ' · ',
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

/**
 * figuresTable renders closed-loop figures as a table's head and body (the
 * overview's and the monthly report's): shares as percentages with their
 * counts, medians as durations, each community's total first.
 */
export function figuresTable(rows) {
  if (!rows.length) return [h('caption', {}, t('fig.none'))];
  const pct = (v, n, total) => (v == null ? '—' : `${percent(v)} (${t('fig.of', { n, total })})`);
  const dur = (v) => (v == null ? '—' : duration(v));
  const cols = [
    ['fig.community', (r) => (r.grid ? '' : data(r.community))],
    ['fig.grid', (r) => (r.grid ? data(r.grid) : t('fig.total'))],
    ['fig.alerts', (r) => String(r.alerts)],
    ['fig.share60', (r) => pct(r.share_within_60s, r.accepted_within_60s, r.alerts)],
    ['fig.share180', (r) => pct(r.share_within_180s, r.accepted_within_180s, r.alerts)],
    ['fig.medianAccept', (r) => dur(r.median_accept_seconds)],
    ['fig.medianArrive', (r) => dur(r.median_arrive_seconds)],
    ['fig.followups', (r) => pct(r.share_followups_on_time, r.followups_on_time, r.followups_due)],
    ['fig.falseAlarms', (r) => pct(r.false_alarm_rate, r.false_alarms, r.resolved)],
    ['fig.rating', (r) => (r.mean_rating == null ? '—' : r.mean_rating.toFixed(2))],
  ];
  return [
    h('thead', {}, h('tr', {}, ...cols.map(([key]) => h('th', {}, t(key))))),
    h('tbody', {}, ...rows.map((r) => h('tr', { class: r.grid ? 'grid-row' : 'community-row', dataset: { community: r.community, grid: r.grid } },
      ...cols.map(([, f]) => h('td', {}, f(r)))))),
  ];
}

// The hub instances sharing the store: alive or not, their last heartbeat
// and the leases each holds (supervision, pruning, telemetry sessions).
let instances = null;

async function loadInstances() {
  try {
    instances = (await api.get('/api/v1/instances')).instances || [];
  } catch (err) {
    instances = { err };
  }
  renderInstances();
}

function renderInstances() {
  const list = $('overview-instances');
  if (!instances) return;
  if (instances.err) {
    list.replaceChildren(h('li', { class: 'muted' }, t('ov.failed', { msg: errorText(instances.err) })));
    return;
  }
  if (instances.length <= 1 && !(instances[0]?.leases || []).some((l) => l.startsWith('session/'))) {
    list.replaceChildren(h('li', { class: 'muted none' }, t('inst.none')));
    return;
  }
  list.replaceChildren(...instances.map((x) => h('li', { dataset: { instance: x.name, alive: String(x.alive) } },
    h('span', { class: 'mono' }, x.name), ' ',
    h('span', { class: x.alive ? '' : 'sev sev-major' }, t(x.stopped ? 'inst.stopped' : x.alive ? 'inst.alive' : 'inst.dead')),
    x.self ? ` ${t('inst.self')}` : '', ' · ',
    h('span', { class: 'muted' }, t('inst.beat', { ago: ago(x.heartbeat) })),
    (x.leases || []).length ? ` · ${t('inst.owns', { list: x.leases.join(', ') })}` : '')));
}
