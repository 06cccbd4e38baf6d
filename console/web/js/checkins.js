// Check-ins of residents living alone: who has shown a sign of life today
// and who is overdue, household by household, overdue first, with the
// counts of the day; staff pause a household (away, in hospital) or watch
// it again. States come from the hub as codes (ci.state.*).

import './strings-incidents.js';
import * as api from './api.js';
import * as store from './store.js';
import { t, onLangChange } from './i18n.js';
import { h, label, dateTime, timeOfDay, errorText } from './format.js';
import { data } from './timeline.js';
import { toast } from './toast.js';

const $ = (id) => document.getElementById(id);

let rows = null; // {households, counts} or {error}
let community = '';
let visible = false;
let timer = 0;
let changeTimer = 0;
let canPlan = false;

/** initCheckins wires the view. */
export function initCheckins() {
  $('ci-community').addEventListener('change', (ev) => { community = ev.target.value; load(); });
  $('ci-table').addEventListener('click', onClick);
  store.onChange((kind, info) => {
    if (!visible || (kind === 'change' && info.alert?.kind !== 'no_activity')) return;
    clearTimeout(changeTimer);
    changeTimer = setTimeout(load, 500);
  });
  onLangChange(draw);
}

/** setRole says whether the user may pause a household. */
export function setRole(role) { canPlan = ['operator', 'supervisor', 'admin', 'gridworker'].includes(role); }

/** showCheckins shows the view, refreshing it every 30 s while shown. */
export function showCheckins() {
  visible = true;
  load();
  clearInterval(timer);
  timer = setInterval(load, 30_000);
}

/** hideCheckins stops the refreshing. */
export function hideCheckins() {
  visible = false;
  clearInterval(timer);
}

async function load() {
  try {
    const all = await api.get('/api/v1/checkins');
    rows = all;
    const communities = [...new Set((all.households || []).map((r) => r.location.community))];
    if (community && !communities.includes(community)) community = '';
  } catch (err) {
    rows = { error: errorText(err) };
  }
  draw();
}

function draw() {
  if (!rows) return;
  const communities = [...new Set((rows.households || []).map((r) => r.location.community))];
  $('ci-community').replaceChildren(h('option', { value: '' }, t('ci.all')),
    ...communities.map((c) => h('option', { value: c, selected: c === community, translate: 'no' }, c)));
  if (rows.error) {
    $('ci-counts').textContent = t('ci.failed', { msg: rows.error });
    return;
  }
  const list = (rows.households || []).filter((r) => !community || r.location.community === community);
  const n = (s) => list.filter((r) => r.state === s).length;
  $('ci-counts').textContent = t('ci.counts', { ok: n('checked_in'), waiting: n('waiting'), overdue: n('overdue'), quiet: n('quiet') });
  const body = $('ci-table').querySelector('tbody');
  if (!list.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('ci.none'))));
    return;
  }
  body.replaceChildren(...list.map(row));
}

function row(r) {
  const l = r.location;
  const quiet = r.state === 'quiet';
  return h('tr', { class: `ci-row ci-${r.state}`, dataset: { household: r.household, state: r.state } },
    h('td', {}, h('div', { translate: 'no' }, [l.building, l.unit, l.household].filter(Boolean).join(' ')),
      h('div', { class: 'muted', translate: 'no' }, l.community)),
    h('td', {}, data(r.resident || '—')),
    h('td', {}, h('span', { class: `ci-state ci-state-${r.state}` }, label('ci.state', r.state)),
      quiet && r.quiet_until && h('div', { class: 'muted' }, t('ci.quietUntil', { t: dateTime(r.quiet_until) })),
      r.plan?.quiet_note && h('div', { class: 'muted' }, data(r.plan.quiet_note))),
    h('td', { class: 'ci-window' }, `${timeOfDay(r.window_start).slice(0, 5)}–${timeOfDay(r.window_end).slice(0, 5)}`),
    h('td', {}, r.last_activity ? dateTime(r.last_activity) : '—'),
    h('td', {}, r.grid_worker ? data(r.grid_worker) : '',
      canPlan && h('div', { class: 'ci-actions' }, quiet
        ? h('button', { type: 'button', class: 'btn small', dataset: { act: 'watch' } }, t('ci.quietClear'))
        : h('button', { type: 'button', class: 'btn small', dataset: { act: 'pause' } }, t('ci.quietSet')))));
}

async function onClick(ev) {
  const btn = ev.target.closest('button[data-act]');
  if (!btn) return;
  const tr = btn.closest('tr[data-household]');
  const household = tr.dataset.household;
  const act = btn.dataset.act;
  if (act === 'pause') { // ask until when and why, in the row
    const until = new Date(Date.now() + 7 * 86_400_000);
    btn.closest('.ci-actions').replaceChildren(h('form', { class: 'ci-pause' },
      h('input', { type: 'date', name: 'until', value: until.toISOString().slice(0, 10), required: true }),
      h('input', { name: 'note', maxlength: 200, placeholder: t('ci.quietNote') }),
      h('button', { type: 'button', class: 'btn small primary', dataset: { act: 'save' } }, t('ci.quietSet'))));
    return;
  }
  let body = { household };
  if (act === 'save') {
    const form = btn.closest('form');
    const day = form.elements.until.value;
    if (!day) return;
    body = { household, quiet_until: new Date(`${day}T23:59:59`).toISOString(), quiet_note: form.elements.note.value.trim() };
  }
  try {
    await api.put('/api/v1/checkins/plan', body);
    toast(t('ci.saved'), 'ok');
  } catch (err) {
    toast(t('ci.saveFailed', { msg: errorText(err) }));
  }
  load();
}
