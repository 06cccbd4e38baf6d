// The street's closed loop in an alert's detail: who a dispatch can send
// (the grid workers of the alert's grid, by account, and the services),
// the grid worker's steps on foot (take the task, arrive, photos), the
// follow-up form and the review's rating, and the task, follow-up and review
// as they stand. detail.js calls these; the server checks every step again.

import * as api from './api.js';
import { t, onLangChange } from './i18n.js';
import { h, dateTime, label, errorText } from './format.js';
import { toast } from './toast.js';
import { data, target } from './timeline.js';
import './strings-loop.js';

const $ = (id) => document.getElementById(id);

// The services a dispatch may name, as codes the page shows in its
// language; grid_worker is the household's grid worker without an account.
const parties = ['grid_worker', '120', '119', '110', 'gas', 'property', 'family', 'other'];

let me = null; // the logged-in user
let workers = []; // grid worker accounts for the shown alert's grid, theirs first
let workersFor = '';

/** setUser keeps who is logged in (a grid worker's steps are their own). */
export function setUser(u) { me = u; }

/** init fills the lists that do not depend on the alert. */
export function init() {
  fillStatic();
  onLangChange(fillStatic);
}

function fillStatic() {
  const opts = (sel, prefix, values, placeholder) => {
    const keep = sel.value;
    sel.replaceChildren(h('option', { value: '', disabled: true }, t(placeholder)),
      ...values.map((v) => h('option', { value: v }, t(`${prefix}.${v}`))));
    sel.value = keep;
  };
  const f = $('followup-form').elements;
  opts(f.method, 'fuMethod', ['call', 'visit'], 'fu.method');
  opts(f.result, 'fuResult', ['resident_ok', 'needs_help', 'not_reached'], 'fu.result');
  opts(f.evaluation, 'fuEval', ['satisfied', 'basically_satisfied', 'dissatisfied', 'not_given'], 'fu.evaluation');
  opts($('review-rating'), 'rating', ['5', '4', '3', '2', '1'], 'act.chooseRating');
  fillDispatch();
}

/** resetFor clears the choices made for another alert. */
export function resetFor() {
  $('followup-form').reset();
  for (const sel of $('followup-form').querySelectorAll('select')) sel.value = '';
  $('review-rating').value = '';
}

/** loadWorkers fetches the grid workers a dispatch of alert a can send, those of its grid first. */
export async function loadWorkers(a) {
  const loc = a?.device?.location || {};
  const key = `${loc.community}/${loc.grid}`;
  if (key === workersFor) return;
  workersFor = key;
  try {
    const q = new URLSearchParams({ community: loc.community || '', grid: loc.grid || '' });
    const resp = await api.get(`/api/v1/gridworkers?${q}`);
    if (workersFor !== key) return;
    workers = resp.grid_workers || [];
  } catch {
    workers = []; // a grid worker's own phone may not list them
  }
  fillDispatch();
}

// fillDispatch offers the grid workers by account, then the services.
function fillDispatch() {
  const sel = $('dispatch-to');
  const keep = sel.value;
  const people = workers.map((w) => h('option', { value: `worker:${w.username}` }, t('dispatch.worker', { name: w.username })));
  const services = h('optgroup', { label: t('dispatch.parties') }, ...parties.map((p) => h('option', { value: p }, t(`dispatch.${p}`))));
  // replaceChildren writes a false as the text "false": no grid workers, no group.
  sel.replaceChildren(...(people.length > 0 ? [h('optgroup', { label: t('dispatch.gridWorkers') }, ...people)] : []), services);
  sel.value = keep && [...sel.options].some((o) => o.value === keep) ? keep : sel.options[0]?.value || '';
}

/** dispatchBody is the dispatch request for the choice made; null if "other" is empty. */
export function dispatchBody(choice, other, note) {
  if (choice.startsWith('worker:')) return { to: 'grid_worker', worker: choice.slice(7), note };
  if (choice === 'other') {
    const to = other.trim();
    return to ? { to, note } : null;
  }
  return { to: choice, note };
}

/** dispatchedTo renders an alert's "sent to" list: codes in the page's language, typed names as they are. */
export function dispatchedTo(list) {
  const out = [];
  for (const item of String(list || '').split(';').map((s) => s.trim()).filter(Boolean)) {
    if (out.length) out.push('、');
    const [code, who] = item.split(':');
    if (code === 'grid_worker' && who) out.push(t('dispatch.grid_worker'), ' ', data(who));
    else out.push(target(item));
  }
  return out;
}

const mine = (a) => !!me && a.task?.worker === me.username;

/**
 * offered lists the actions a's state allows for the role: the duty
 * room's (accept, dispatch, resolve, follow up, close) or a grid worker's
 * (accept in their grid, take, arrive, photo, resolve their own task,
 * follow up).
 */
export function offered(role, a) {
  const desk = role === 'operator' || role === 'supervisor' || role === 'admin';
  const reviews = role === 'supervisor' || role === 'admin';
  const fuDue = !!a.follow_up && !a.follow_up.done_at;
  if (desk) {
    return {
      new: ['accept'], accepted: ['dispatch', 'resolve', 'photo'], dispatched: ['dispatch', 'resolve', 'photo'],
      resolved: [...(reviews ? ['close'] : []), ...(fuDue ? ['followup'] : []), 'photo'], closed: fuDue ? ['followup'] : [],
    }[a.state] || [];
  }
  if (role !== 'gridworker') return [];
  const task = a.task || {};
  switch (a.state) {
    case 'new': return ['accept'];
    case 'accepted':
    case 'dispatched':
      if (!task.worker || (task.state === 'sent' && mine(a))) return ['take'];
      if (!mine(a)) return [];
      if (task.state === 'taken') return ['arrive', 'photo', 'resolve'];
      if (task.state === 'arrived') return ['photo', 'resolve'];
      return [];
    case 'resolved': return [...(fuDue ? ['followup'] : []), ...(mine(a) ? ['photo'] : [])];
    case 'closed': return fuDue ? ['followup'] : [];
  }
  return [];
}

/** followUpBody reads the follow-up form; null (and a hint) if a choice is missing. */
export function followUpBody(note) {
  const f = $('followup-form').elements;
  for (const name of ['method', 'result', 'evaluation']) {
    if (!f[name].value) {
      toast(t('err.followup.bad_field', { field: t(`fieldName.${name}`) }));
      f[name].focus();
      return null;
    }
  }
  return { method: f.method.value, result: f.result.value, evaluation: f.evaluation.value, note };
}

/** reviewBody reads the review's rating; null (and a hint) if none is chosen. */
export function reviewBody(note) {
  const v = $('review-rating').value;
  if (!v) {
    toast(t('act.needRating'));
    $('review-rating').focus();
    return null;
  }
  return { rating: Number(v), note };
}

/** uploadPhoto sends a picture taken for alert id; it resolves to true when the hub kept it. */
export async function uploadPhoto(id, file) {
  if (!file) return false;
  toast(t('act.photoUploading'), 'ok');
  try {
    await api.request('POST', `/api/v1/alerts/${id}/photos`, file, { contentType: file.type || 'application/octet-stream' });
    toast(t('act.done.photo'), 'ok');
    return true;
  } catch (err) {
    toast(t('act.failed.photo', { msg: errorText(err) }), 'error');
    return false;
  }
}

/** photo renders a photo entry of the timeline as a thumbnail linking to the picture. */
export function photo(e, alert) {
  if (e?.action !== 'photo' || !alert?.id || !/^[0-9]+$/.test(e.data?.photo || '')) return null;
  const src = `/api/v1/alerts/${alert.id}/photos/${e.data.photo}`;
  return h('a', { class: 'photo-thumb', href: src, target: '_blank', rel: 'noopener' },
    h('img', { src, alt: t('photo.alt', { n: e.data.photo }), loading: 'lazy' }));
}

/** renderTask shows the grid worker's task, the follow-up and the review, or hides the card. */
export function renderTask(a) {
  const card = $('task-card');
  const rows = [];
  const tk = a.task;
  if (tk) {
    rows.push([t('task.title'), h('span', {}, data(tk.worker), ' · ', t(`task.state.${tk.state}`),
      mine(a) && h('span', { class: 'tag tag-mine' }, t('task.mine')))]);
    for (const [key, at] of [['tl.task_taken', tk.taken_at], ['tl.arrived', tk.arrived_at]]) {
      if (at) rows.push([t(key), dateTime(at)]);
    }
  }
  const fu = a.follow_up;
  if (fu) {
    const done = fu.done_at ? [data(fu.by), ' · ', dateTime(fu.done_at), ' · ',
      label('fuMethod', fu.method), ' · ', label('fuResult', fu.result), ' · ', label('fuEval', fu.evaluation)] : [];
    const when = fu.due ? [t('fu.dueAt', { t: dateTime(fu.due) }), fu.done_at && ` · ${t(isLate(fu) ? 'fu.late' : 'fu.onTime')}`] : [];
    rows.push([t('fu.title'), h('span', { class: fu.done_at ? '' : 'due' }, ...when, done.length > 0 && h('div', {}, ...done))]);
  }
  const rv = a.review;
  if (rv) {
    rows.push([t('act.review'), h('span', {}, data(rv.by), ' · ', rv.rating ? t(`rating.${rv.rating}`) : '—',
      rv.comment && h('div', { class: 'notes', translate: 'no' }, rv.comment))]);
  }
  card.hidden = rows.length === 0;
  $('d-task').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function isLate(fu) { return fu.due && fu.done_at && Date.parse(fu.done_at) > Date.parse(fu.due); }
