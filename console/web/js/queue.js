// The queue of open alerts: most urgent first, colour and text for
// severity, a running timer since each alert opened, its escalation level,
// a resident's voice call ringing on it with how long it has waited;
// the review list of resolved alerts for supervisors; desktop notifications
// and the document title for alerts that arrive.

import * as store from './store.js';
import * as sound from './sound.js';
import { linkedHidden, queueSummary, incidentPlace } from './incident.js';
import { t, onLangChange } from './i18n.js';
import { h, ms, clock, label, shortAddress, dateTime } from './format.js';
import './strings-loop.js';

let selectedId = null;
let onOpen = () => {};
let firstSnapshot = true;
let canReview = false;
let showTests = false;
let me = null; // the user: a grid worker's own tasks are marked
let followsUp = false;

const tbody = () => document.querySelector('#queue tbody');

/** initQueue wires the queue; open(id) shows an alert's detail. */
export function initQueue({ open }) {
  onOpen = open;
  store.onChange((kind, info) => {
    if (kind === 'snapshot') {
      if (!firstSnapshot) for (const a of info.added) arrived(a);
      firstSnapshot = false;
    } else if (kind === 'change' && info.added) {
      arrived(info.alert);
    }
    render();
  });
  tbody().addEventListener('click', (ev) => {
    const row = ev.target.closest('tr.alert-row');
    if (row) select(Number(row.dataset.alertId));
  });
  for (const id of ['review-list', 'followup-list']) {
    document.getElementById(id).addEventListener('click', (ev) => {
      const li = ev.target.closest('li[data-alert-id]');
      if (li) select(Number(li.dataset.alertId));
    });
  }
  setInterval(tickTimers, 1000);
  onLangChange(render);
  render();
}

/** resetQueue forgets the session's state (on logout). */
export function resetQueue() {
  selectedId = null;
  firstSnapshot = true;
}

/** setCanReview shows the review list (supervisors and admins). */
export function setCanReview(v) {
  canReview = v;
  render();
}

/** setUser marks the user's own tasks and shows the follow-ups due to the roles that make them. */
export function setUser(u) {
  me = u;
  followsUp = ['operator', 'supervisor', 'admin', 'gridworker'].includes(u?.role);
  render();
}

/**
 * setShowTests shows commissioning tests in the queue (for installers, who
 * wait for them); the duty room never sees them.
 */
export function setShowTests(v) {
  showTests = v;
  render();
}

/** visibleAlerts returns the open alerts the queue shows, in its order. */
export function visibleAlerts() {
  // An incident's row stands for the alerts it groups (incident.js).
  return store.openAlerts().filter((a) => (showTests || !a.test) && !linkedHidden(a));
}

/** selected returns the id of the selected alert, or null. */
export function selected() { return selectedId; }

/** select selects an alert and opens its detail; null clears the selection. */
export function select(id) {
  selectedId = id;
  for (const el of document.querySelectorAll('#queue tr.alert-row, #review-list li, #followup-list li')) {
    el.classList.toggle('selected', Number(el.dataset.alertId) === id);
    el.setAttribute('aria-selected', String(Number(el.dataset.alertId) === id));
  }
  const row = document.querySelector(`#queue tr.alert-row[data-alert-id="${id}"]`);
  if (row) row.scrollIntoView({ block: 'nearest' });
  if (id !== null) onOpen(id);
}

/** move selects the next (+1) or previous (-1) alert of the queue. */
export function move(step) {
  const ids = [...document.querySelectorAll('#queue tr.alert-row, #review-list li, #followup-list li')].map((el) => Number(el.dataset.alertId));
  if (!ids.length) return;
  const i = ids.indexOf(selectedId);
  const next = i < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, i + step));
  select(ids[next]);
}

function arrived(a) {
  if (a.state !== 'new' || a.test) return;
  sound.newAlert();
  notify(a);
}

function notify(a) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(t('notify.title', { kind: label('kind', a.kind) }), {
      body: `${label('sev', a.severity)} · ${t('notify.body', { where: shortAddress(a.device?.location), resident: a.device?.resident?.name || '' })}`,
      tag: `alert-${a.id}`,
      requireInteraction: a.severity === 'critical',
    });
    n.onclick = () => { window.focus(); select(a.id); n.close(); };
  } catch (err) {
    console.warn('notification', err);
  }
}

function render() {
  const open = visibleAlerts();
  const body = tbody();
  body.replaceChildren(...open.map(row));
  // Before the live feed's first snapshot the queue is not known to be
  // empty: say so, rather than "no open alerts" while some may be open.
  const empty = document.getElementById('queue-empty');
  empty.hidden = open.length > 0;
  empty.dataset.i18n = firstSnapshot ? 'queue.notLoaded' : 'queue.empty';
  empty.textContent = t(empty.dataset.i18n);
  const fresh = open.filter((a) => a.state === 'new' && !a.test).length;
  const count = document.getElementById('queue-count');
  count.textContent = open.length ? String(open.length) : '';
  count.dataset.new = String(fresh > 0);
  document.title = `${fresh ? `(${fresh}) ` : ''}${document.documentElement.lang === 'en' ? 'Shouwang' : '守望'} · ${t('app.title')}`;
  renderReview();
  renderFollowUps();
  if (selectedId !== null) {
    for (const el of document.querySelectorAll('#queue tr.alert-row, #review-list li, #followup-list li')) {
      el.classList.toggle('selected', Number(el.dataset.alertId) === selectedId);
    }
  }
  sound.setAlerts(open);
  tickTimers();
}

function row(a) {
  const loc = a.device?.location || incidentPlace(a);
  const res = a.device?.resident || {};
  const level = a.escalation_level || 0;
  const call = a.call?.state ? a.call : null;
  const data = {
    alertId: a.id, state: a.state, severity: a.severity, kind: a.kind, level,
    test: String(!!a.test), opened: ms(a.opened_at),
  };
  if (call) data.call = call.state;
  return h('tr', { class: 'alert-row', tabindex: '-1', dataset: data },
  h('td', { class: 'c-sev' }, h('span', { class: `sev sev-${a.severity}` }, label('sev', a.severity))),
  h('td', { class: 'c-kind' },
    h('div', { class: 'kind' }, label('kind', a.kind)),
    h('div', { class: 'tags' },
      a.test && h('span', { class: 'tag tag-test' }, t('queue.test')),
      a.cleared && h('span', { class: 'tag tag-cleared' }, t('queue.cleared')),
      a.occurrences > 1 && !a.incident && h('span', { class: 'tag' }, t('queue.times', { n: a.occurrences })))),
  h('td', { class: 'c-where' },
    h('div', { class: 'where', title: shortAddress(loc), translate: 'no' }, [loc?.building, loc?.household].filter(Boolean).join(' ') || a.device_id,
      loc?.community && h('span', { class: 'community' }, loc.community)),
    a.incident ? h('div', { class: 'who' }, queueSummary(a)) : h('div', { class: 'who' }, h('span', { translate: 'no' }, res.name || a.device_id),
      res.lives_alone && h('span', { class: 'tag tag-alone' }, t('queue.alone')))),
  h('td', { class: 'c-state' },
    h('span', { class: `state-tag state-${a.state}` }, label('state', a.state)),
    level > 0 && h('span', { class: `level level-${level}` }, t('queue.level', { n: level })),
    a.assignee && h('div', { class: 'assignee', translate: 'no' }, a.assignee),
    me && a.task?.worker === me.username && h('div', { class: 'tag tag-mine' }, t('task.mine'), ' · ', t(`task.state.${a.task.state}`)),
    callTag(call)),
  h('td', { class: 'age' }, clock(Date.now() - ms(a.opened_at))));
}

// callTag shows a call on the alert: ringing with how long it has waited,
// or answered and by whom.
function callTag(call) {
  if (call?.state === 'ringing') {
    return h('div', { class: 'call-tag call-ringing', title: t('call.ringing') },
      h('span', { class: 'call-icon', 'aria-hidden': 'true' }, '☎'), ' ', t('call.queueRinging'), ' ',
      h('span', { class: 'call-wait', dataset: { started: ms(call.started_at) || Date.now() } },
        clock(Date.now() - (ms(call.started_at) || Date.now()))));
  }
  if (call?.state === 'answered') {
    return h('div', { class: 'call-tag call-answered' },
      h('span', { class: 'call-icon', 'aria-hidden': 'true' }, '☎'), ' ',
      call.answered_by ? t('call.queueAnsweredBy', { name: call.answered_by }) : t('call.queueAnswered'));
  }
  return null;
}

function renderReview() {
  const box = document.getElementById('review');
  const list = canReview ? store.resolvedAlerts() : [];
  box.hidden = list.length === 0;
  document.getElementById('review-list').replaceChildren(...list.map((a) => h('li', {
    dataset: { alertId: a.id, state: a.state }, tabindex: '-1',
  },
  h('span', { class: `sev sev-${a.severity}` }, label('sev', a.severity)), ' ',
  h('span', {}, label('kind', a.kind)), ' · ',
  h('span', { translate: 'no' }, shortAddress(a.device?.location) || a.device_id), ' · ',
  h('span', { class: 'muted' }, label('outcome', a.outcome)))));
}

function renderFollowUps() {
  const box = document.getElementById('followups');
  const list = followsUp ? store.followUpAlerts() : [];
  box.hidden = list.length === 0;
  const now = Date.now();
  document.getElementById('followup-list').replaceChildren(...list.map((a) => h('li', {
    dataset: { alertId: a.id, state: a.state }, tabindex: '-1',
  },
  h('span', {}, label('kind', a.kind)), ' · ',
  h('span', { translate: 'no' }, shortAddress(a.device?.location) || a.device_id), ' · ',
  h('span', { class: 'muted' }, t('followups.due', { t: dateTime(a.follow_up.due) })),
  Date.parse(a.follow_up.due) < now && h('span', { class: 'tag tag-overdue' }, t('followups.overdue')))));
}

function tickTimers() {
  const now = Date.now();
  for (const td of document.querySelectorAll('#queue tr.alert-row td.age')) {
    td.textContent = clock(now - Number(td.parentElement.dataset.opened));
  }
  for (const el of document.querySelectorAll('#queue tr.alert-row .call-wait')) {
    el.textContent = clock(now - Number(el.dataset.started));
  }
}
