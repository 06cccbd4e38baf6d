// An alert's detail: who and where, contacts and the grid worker, the device
// and its health, its recent readings as a chart, the timeline (with call
// recordings to play back and photos), the resident's voice call (call.js),
// the grid worker's task, the follow-up and the review (loop.js), and the
// actions the alert's state allows for the role (accept, dispatch, take,
// arrive, photo, resolve, follow up, close, note) with the server's own
// message, in the page's language, when one fails.

import * as api from './api.js';
import * as store from './store.js';
import { t, onLangChange } from './i18n.js';
import { h, ms, clock, dateTime, label, address, errorText } from './format.js';
import { toast } from './toast.js';
import { drawChart, clearChart } from './chart.js';
import * as call from './call.js';
import * as timeline from './timeline.js';
import { showIncident } from './incident.js';
import * as loop from './loop.js';
import './strings-loop.js';

let current = null; // the alert shown, with its timeline once fetched
let deviceFull = null; // the device as registered now, with its health
let role = '';
let refetchTimer = 0;
let onClosed = () => {};

const $ = (id) => document.getElementById(id);

/** initDetail wires the pane; closed() runs when the pane is closed. */
export function initDetail({ closed }) {
  onClosed = closed;
  $('btn-accept').addEventListener('click', () => act('accept'));
  $('btn-dispatch').addEventListener('click', () => act('dispatch'));
  $('btn-resolve').addEventListener('click', () => act('resolve'));
  $('btn-close').addEventListener('click', () => act('close'));
  $('btn-note').addEventListener('click', () => act('note'));
  $('btn-take').addEventListener('click', () => act('take'));
  $('btn-arrive').addEventListener('click', () => act('arrive'));
  $('followup-form').addEventListener('submit', (ev) => { ev.preventDefault(); act('followup'); });
  $('photo-input').addEventListener('change', async () => {
    const input = $('photo-input');
    const id = current?.id;
    if (id && await loop.uploadPhoto(id, input.files[0])) scheduleRefetch();
    input.value = '';
  });
  loop.init();
  $('note-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); act('note'); }
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('dispatch-to').addEventListener('change', () => {
    const other = $('dispatch-to').value === 'other';
    $('dispatch-other').hidden = !other;
    if (other) $('dispatch-other').focus();
  });
  store.onChange((kind, info) => {
    if (!current) return;
    if (kind === 'change' && info.alert.id === current.id) {
      current = { ...info.alert, timeline: current.timeline };
      render();
      scheduleRefetch();
    } else if (kind === 'snapshot') {
      const a = store.get(current.id);
      if (a && a.version > current.version) {
        current = { ...a, timeline: current.timeline };
        render();
        scheduleRefetch();
      }
    }
  });
  setInterval(tickAge, 1000);
  onLangChange(() => {
    fillSelects();
    if (current) { render(); if (current.kind) drawChart(current); }
  });
  fillSelects();
}

/** setUser shows the actions the user's role may take, on their own tasks. */
export function setUser(u) {
  role = u?.role || '';
  loop.setUser(u);
  if (current) render();
}

/** shownId returns the id of the alert shown, or null. */
export function shownId() { return current ? current.id : null; }

/** openDetail shows alert id: at once from the queue's copy, then in full from the server. */
export async function openDetail(id) {
  const same = current && current.id === id;
  const known = store.get(id);
  if (!same) {
    current = known ? { ...known, timeline: null } : { id, timeline: null };
    deviceFull = null;
    clearChart();
    // Choices made for one alert do not carry over to the next.
    $('note-input').value = '';
    $('dispatch-to').value = $('dispatch-to').options[0]?.value || '';
    $('dispatch-other').value = '';
    $('dispatch-other').hidden = true;
    $('resolve-outcome').value = ''; // no default: the operator says what it was
    loop.resetFor();
  }
  $('alert-detail').hidden = false;
  $('detail-placeholder').hidden = true;
  render();
  await refetch();
  if (!same && current && current.id === id) {
    loadDevice(id);
    drawChart(current);
    if (offered(current).includes('dispatch') || current.state === 'new') loop.loadWorkers(current);
  }
}

/** closeDetail hides the pane. */
export function closeDetail() {
  current = null;
  deviceFull = null;
  clearChart();
  call.showAlert(null);
  $('alert-detail').hidden = true;
  $('detail-placeholder').hidden = false;
  onClosed();
}

function scheduleRefetch() {
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(refetch, 150);
}

async function refetch() {
  if (!current) return;
  const id = current.id;
  try {
    const resp = await api.get(`/api/v1/alerts/${id}`);
    if (!current || current.id !== id) return;
    if (resp.alert.version >= (current.version || 0)) current = resp.alert;
    else current = { ...current, timeline: resp.alert.timeline };
    render();
  } catch (err) {
    if (!current || current.id !== id) return;
    if (!current.kind) $('d-title').textContent = t('detail.loadFailed', { msg: errorText(err) });
    // Unreachable: the connection banner says so, and refresh() runs when
    // the feed is back.
    else if (err.status !== 0) toast(t('detail.loadFailed', { msg: errorText(err) }));
  }
}

/** refresh reloads the alert shown, its device and chart: after the connection comes back. */
export function refresh() {
  if (!current || !current.kind) return;
  const id = current.id;
  refetch().then(() => {
    if (current && current.id === id) {
      loadDevice(id);
      drawChart(current);
    }
  });
}

async function loadDevice(alertId) {
  const id = current.device_id;
  if (!id || current.incident) return; // an incident's device_id is its scope, not a device

  try {
    const resp = await api.get(`/api/v1/devices/${encodeURIComponent(id)}`);
    if (current && current.id === alertId) {
      deviceFull = resp.device;
      renderDevice();
      call.showAlert(current, deviceFull);
    }
  } catch (err) {
    console.warn('device', id, err);
  }
}

async function act(action) {
  if (!current || !current.kind) return;
  const id = current.id;
  const note = $('note-input').value.trim();
  let body;
  switch (action) {
    case 'dispatch':
      body = loop.dispatchBody($('dispatch-to').value, $('dispatch-other').value, note);
      if (!body) { toast(t('act.needTo')); $('dispatch-other').focus(); return; }
      break;
    case 'followup':
      if (!(body = loop.followUpBody(note))) return;
      break;
    case 'close':
      if (!(body = loop.reviewBody(note))) return;
      break;
    case 'resolve':
      if (!$('resolve-outcome').value) { toast(t('act.needOutcome')); $('resolve-outcome').focus(); return; }
      body = { outcome: $('resolve-outcome').value, note };
      break;
    case 'note':
      if (!note) { toast(t('act.needNote')); $('note-input').focus(); return; }
      body = { note };
      break;
    default:
      body = note ? { note } : undefined;
  }
  const btn = $(`btn-${action}`);
  btn.disabled = true;
  try {
    const resp = await api.post(`/api/v1/alerts/${id}/${action}`, body);
    if (body?.note) $('note-input').value = '';
    store.applyChange({ ...resp.alert, timeline: undefined });
    if (current && current.id === id && resp.alert.version >= (current.version || 0)) {
      current = resp.alert;
      render();
    }
    toast(t(`act.done.${action}`), 'ok');
  } catch (err) {
    toast(t(`act.failed.${action}`, { msg: errorText(err) }), 'error');
    scheduleRefetch(); // show what the alert really is now
  } finally {
    btn.disabled = false;
  }
}

/**
 * actKey runs an action from the keyboard, if the alert's state offers it.
 * Accepting is one key (nothing is lost by taking an alert); dispatching
 * and resolving ask first, saying what will be recorded, so a stray key
 * cannot send someone or close an incident.
 */
export function actKey(action) {
  if (!current || !current.kind) return;
  if (action === 'note') { $('note-input').focus(); return; }
  if (!offered(current).includes(action)) return;
  if (action === 'dispatch' && $('dispatch-to').value === 'other' && !$('dispatch-other').value.trim()) {
    $('dispatch-other').focus();
    return;
  }
  if (action === 'resolve' && !$('resolve-outcome').value) {
    toast(t('act.needOutcome'));
    $('resolve-outcome').focus();
    return;
  }
  if (action === 'accept') { act(action); return; }
  const id = current.id;
  const what = action === 'resolve'
    ? t('confirm.resolve', { id, outcome: label('outcome', $('resolve-outcome').value) })
    : t('confirm.dispatch', { id, to: $('dispatch-to').selectedOptions[0]?.textContent || '' });
  confirmAction(what, t(`act.${action}`), () => { if (current && current.id === id) act(action); });
}

/** offered lists the actions an alert's state allows, for the shown role (loop.js). */
export function offered(a) { return loop.offered(role, a); }

// confirmAction asks before an action taken from the keyboard: Enter or the
// button confirms, Escape or the other button cancels.
function confirmAction(text, yes, run) {
  const box = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-yes').textContent = yes;
  box.hidden = false;
  const done = (ok) => {
    box.hidden = true;
    $('confirm-yes').onclick = $('confirm-no').onclick = box.onkeydown = null;
    if (ok) run();
  };
  $('confirm-yes').onclick = () => done(true);
  $('confirm-no').onclick = () => done(false);
  box.onkeydown = (ev) => {
    if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); done(false); }
  };
  $('confirm-yes').focus();
}

/** confirming reports whether a confirmation is waiting. */
export function confirming() { return !$('confirm').hidden; }

function fillSelects() {
  for (const opt of $('resolve-outcome').options) opt.textContent = opt.value ? label('outcome', opt.value) : t('act.chooseOutcome');
}

function render() {
  const a = current;
  const pane = $('alert-detail');
  pane.dataset.alertId = a.id;
  pane.dataset.state = a.state || '';
  pane.dataset.severity = a.severity || '';
  const sev = $('d-severity');
  sev.className = `sev sev-${a.severity || 'none'}`;
  sev.textContent = a.severity ? label('sev', a.severity) : '';
  $('d-title').textContent = a.kind ? `#${a.id} ${label('kind', a.kind)}${a.test ? ` · ${t('queue.test')}` : ''}` : t('detail.loading');
  const st = $('d-state');
  st.className = `state-tag state-${a.state}`;
  st.textContent = a.state ? label('state', a.state) : '';
  const lvl = $('d-level');
  lvl.hidden = !(a.escalation_level > 0);
  lvl.className = `level level-${a.escalation_level || 0}`;
  lvl.textContent = t('queue.level', { n: a.escalation_level || 0 });

  $('d-meta').replaceChildren(...[
    a.opened_at && h('span', {}, t('detail.opened', { t: dateTime(a.opened_at) })),
    a.opened_at && a.state && ['new', 'accepted', 'dispatched'].includes(a.state) && h('span', { id: 'd-age', class: 'age' }, clock(Date.now() - ms(a.opened_at))),
    a.reading != null && h('span', {}, t('detail.reading', { v: a.reading })),
    a.occurrences > 1 && !a.incident && h('span', {}, t('detail.occurrences', { n: a.occurrences })),
    a.cleared && h('span', { class: 'tag tag-cleared' }, t('queue.cleared')),
    a.assignee && h('span', {}, ...timeline.tn('detail.assignee', { name: timeline.data(a.assignee) })),
    a.dispatched_to && h('span', {}, ...timeline.tn('detail.dispatchedTo', { to: h('span', {}, ...loop.dispatchedTo(a.dispatched_to)) })),
    a.outcome && h('span', {}, label('outcome', a.outcome)),
  ].filter(Boolean));

  // An incident stands for a building or a bridge, not a device: its card
  // replaces the resident's and the device's (incident.js).
  pane.dataset.incident = String(showIncident(a));
  renderActions(a);
  loop.renderTask(a);
  call.showAlert(a, deviceFull || a.device);
  renderResident(a.device || {});
  renderDevice();
  renderTimeline(a.timeline);
}

function renderActions(a) {
  const answers = ['operator', 'supervisor', 'admin', 'gridworker'].includes(role);
  // Only what the alert's state allows is offered; the next step stands
  // out. The server still says why when an action no longer applies
  // (someone else got there first).
  const offer = a.state ? offered(a) : [];
  $('actions').hidden = !answers || offer.filter((x) => x !== 'followup').length === 0;
  document.querySelector('#alert-detail .note-row').hidden = !answers;
  $('btn-accept').hidden = !offer.includes('accept');
  $('btn-take').hidden = !offer.includes('take');
  $('btn-arrive').hidden = !offer.includes('arrive');
  $('btn-photo').hidden = !offer.includes('photo');
  $('btn-dispatch').closest('.action-group').hidden = !offer.includes('dispatch');
  $('btn-resolve').closest('.action-group').hidden = !offer.includes('resolve');
  $('close-group').hidden = !offer.includes('close');
  $('followup-form').hidden = !offer.includes('followup');
  const next = offer.find((x) => x !== 'photo' && x !== 'dispatch') || offer[0];
  for (const act of ['accept', 'take', 'arrive', 'dispatch', 'resolve', 'close']) {
    $(`btn-${act}`).classList.toggle('primary', act === next);
  }
}

function kv(dl, pairs) {
  dl.replaceChildren(...pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .flatMap(([k, v, cls]) => [h('dt', {}, k), h('dd', { class: cls }, v)]));
}

function renderResident(d) {
  const r = d.resident || {};
  const age = r.birth_year ? new Date().getFullYear() - r.birth_year : null;
  const phone = (p) => h('a', { href: `tel:${p}`, class: 'phone', translate: 'no' }, p);
  const typed = (v) => v && timeline.data(v); // what was registered, shown as written
  kv($('d-resident'), [
    [t('detail.name'), h('span', {},
      h('span', { class: 'big', translate: 'no' }, r.name || '—'),
      age !== null && h('span', { class: 'age-years' }, t('detail.ageValue', { n: age, y: r.birth_year })),
      r.lives_alone && h('span', { class: 'tag tag-alone' }, t('detail.livesAlone')))],
    [t('detail.residentPhone'), r.phone && phone(r.phone)],
    [t('detail.careNotes'), typed(r.care_notes), 'notes'],
    [t('detail.language'), typed(r.language)],
    [t('detail.address'), typed(address(d.location)), 'big'],
  ]);
  const items = (d.contacts || []).map((c) => h('li', {}, h('span', { class: 'who', translate: 'no' }, c.name),
    c.relation && h('span', { class: 'muted', translate: 'no' }, ` (${c.relation})`), ' ', phone(c.phone)));
  if (!items.length) items.push(h('li', { class: 'muted' }, t('detail.noContacts')));
  const gw = d.grid_worker || {};
  if (gw.name || gw.phone) {
    items.push(h('li', { class: 'grid-worker' }, h('span', { class: 'tag' }, t('detail.gridWorker')), ' ',
      h('span', { class: 'who', translate: 'no' }, gw.name || ''), ' ', gw.phone && phone(gw.phone)));
  }
  $('d-contacts').replaceChildren(...items);
}

function renderDevice() {
  if (!current) return;
  const d = deviceFull || current.device || {};
  const hl = deviceFull?.health;
  kv($('d-device'), [
    [t('detail.deviceId'), current.device_id, 'mono'],
    [t('detail.deviceKind'), d.kind && label('dkind', d.kind)],
    [t('detail.vendor'), [d.vendor, d.model].filter(Boolean).join(' ')],
    [t('detail.deviceStatus'), hl ? h('span', { class: `online-${hl.online}` }, hl.online ? t('dev.online') : t('dev.offline')) : '—'],
    [t('detail.battery'), hl?.battery != null ? `${Math.round(hl.battery)}%` : ''],
    [t('detail.signal'), hl?.signal != null ? `${hl.signal} dBm` : ''],
    [t('detail.lastSeen'), hl ? dateTime(hl.last_seen) : ''],
  ]);
}

function renderTimeline(entries) {
  const ol = $('timeline');
  if (!entries) {
    ol.replaceChildren(h('li', { class: 'muted' }, t('detail.loading')));
    return;
  }
  ol.replaceChildren(...entries.map((e) => timeline.entry(e, current, (x) => call.recordings(x) || loop.photo(x, current))));
}

function tickAge() {
  const el = document.getElementById('d-age');
  if (el && current?.opened_at) el.textContent = clock(Date.now() - ms(current.opened_at));
}
