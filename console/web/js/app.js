// The duty-room console: logging in and resuming a session, the views, the
// connection status, the language switch, voice calls and the keyboard.

import * as api from './api.js';
import * as store from './store.js';
import * as live from './live.js';
import * as sound from './sound.js';
import * as queue from './queue.js';
import * as detail from './detail.js';
import * as devices from './devices.js';
import * as overview from './overview.js';
import * as buildings from './buildings.js';
import * as checkins from './checkins.js';
import { initIncident } from './incident.js';
import * as call from './call.js';
import { checkCalls, callCapability, onCapabilityChange } from './capability.js';
import { t, setLang, currentLang, applyStatic, onLangChange } from './i18n.js';
import { h, label, errorText } from './format.js';
import * as report from './report.js';
import { toast, hideToast } from './toast.js';
import { registerShell } from './pwa.js';

const $ = (id) => document.getElementById(id);

let user = null;
let view = 'queue';
let retryTick = 0;

// For tests and for a curious duty officer's console.
window.shouwang = {
  sound: sound.sound,
  call: call.callInfo,
  get calls() { return callCapability(); },
  live: {
    get state() { return live.liveState(); },
    get seq() { return live.lastSeq(); },
  },
  get user() { return user; },
};

function init() {
  applyStatic();
  sound.refreshLabels();
  api.setUnauthorizedHandler(sessionEnded);

  for (const el of document.querySelectorAll('#lang-toggle, [data-lang-switch]')) {
    el.addEventListener('click', () => setLang(currentLang() === 'en' ? 'zh-CN' : 'en'));
  }
  onLangChange(() => { renderConn(live.liveState()); sound.refreshLabels(); renderCalls(); renderSite(); renderUser(); });
  onLangChange(() => hideToast()); // a message is in the language it was shown in
  for (const btn of document.querySelectorAll('[data-view]')) {
    btn.addEventListener('click', () => showView(btn.dataset.view));
  }
  $('login-form').addEventListener('submit', (ev) => { ev.preventDefault(); login(); });
  $('logout').addEventListener('click', logout);
  $('mute').addEventListener('click', () => sound.toggleMute());
  $('sound-enable').addEventListener('click', () => sound.unlock());
  $('conn-retry-now').addEventListener('click', () => live.reconnectNow());
  $('notify-enable').addEventListener('click', askNotifications);
  window.addEventListener('hashchange', openLinked);
  // Browsers let a page make sound only after a click or key press.
  document.addEventListener('pointerdown', () => sound.unlock(), true);
  document.addEventListener('keydown', () => sound.unlock(), true);
  document.addEventListener('keydown', onKey);

  queue.initQueue({ open: (id) => detail.openDetail(id) });
  detail.initDetail({ closed: () => queue.select(null) });
  call.initCall({ open: (id) => { showView('queue'); queue.select(id); } });
  devices.initDevices();
  overview.initOverview({ report: () => showView('report') });
  const openAlert = (id) => { showView('queue'); queue.select(id); };
  buildings.initBuildings({ open: openAlert });
  checkins.initCheckins();
  initIncident({ open: openAlert });
  report.initReport({ back: () => showView('overview') });
  store.onChange((kind) => { if (kind === 'snapshot') { loadReview(); loadFollowUps(); } });
  onCapabilityChange(renderCalls);
  checkCalls().then(renderCalls);
  loadSite();
  registerShell();

  resume();
}

// site is what the hub says about itself before login: its local CA, if any.
let site = {};

async function loadSite() {
  try {
    site = (await api.get('/api/v1/site')) || {};
  } catch {
    site = {}; // an older hub, or unreachable: nothing to offer
  }
  renderSite();
}

// renderSite offers the hub's CA certificate on the login form, with the
// fingerprint to check it by, so a duty-room PC can trust it once.
function renderSite() {
  const ca = site.local_ca;
  $('login-ca').hidden = !ca;
  if (!ca) return;
  $('login-ca-link').href = ca.url;
  $('login-ca-hint').textContent = t('tls.caHint', { fp: ca.sha256 });
}

// renderCalls says, on the login form and then in a banner for those who
// answer calls, when this PC cannot take calls — before any call rings.
function renderCalls() {
  const cap = callCapability();
  const text = cap.ok ? '' : t('calls.cannot', { why: t(`calls.why.${cap.reason}`) });
  const note = $('login-calls');
  note.textContent = text;
  note.hidden = cap.ok;
  const answers = ['operator', 'supervisor', 'admin'].includes(user?.role);
  $('calls-banner').hidden = cap.ok || !answers;
  $('calls-banner-text').textContent = text;
  call.setCapability(cap);
}

async function resume() {
  try {
    const me = await api.get('/api/v1/me');
    enter(me);
  } catch (err) {
    showLogin(err.status === 401 || err.status === 404 ? '' : errorText(err));
  }
}

function showLogin(message) {
  $('app').hidden = true;
  $('login').hidden = false;
  const e = $('login-error');
  e.textContent = message || '';
  e.hidden = !message;
  $('login-password').value = '';
  $(message ? 'login-password' : 'login-username').focus();
}

async function login() {
  sound.unlock(); // a click: the moment browsers allow audio to start
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  const e = $('login-error');
  if (!username || !password) {
    e.textContent = t('login.required');
    e.hidden = false;
    return;
  }
  $('login-submit').disabled = true;
  try {
    const resp = await api.post('/api/v1/login', { username, password, session: true });
    $('login-password').value = '';
    e.hidden = true;
    enter(resp);
  } catch (err) {
    let msg;
    if (err.status === 401) msg = t('login.wrong');
    else if (err.status === 429) {
      const secs = Number(err.headers?.get('Retry-After'));
      msg = secs > 0 ? t('login.throttled', { min: Math.max(1, Math.ceil(secs / 60)) }) : t('login.failed', { msg: errorText(err) });
    } else msg = t('login.failed', { msg: errorText(err) });
    e.textContent = msg;
    e.hidden = false;
    $('login-password').select();
  } finally {
    $('login-submit').disabled = false;
  }
}

function enter(resp) {
  user = resp.user;
  api.setCSRF(resp.csrf_token);
  const role = user?.role || '';
  document.body.dataset.role = role;
  // A grid worker's phone shows their tasks: the queue, named so.
  $('nav-queue-label').dataset.i18n = role === 'gridworker' ? 'nav.tasks' : 'nav.queue';
  $('nav-queue-label').textContent = t($('nav-queue-label').dataset.i18n);
  renderUser();
  const reviews = role === 'supervisor' || role === 'admin';
  const writes = role === 'installer' || role === 'admin';
  document.body.dataset.writer = String(writes);
  queue.setCanReview(reviews);
  queue.setShowTests(role === 'installer');
  detail.setUser(user);
  queue.setUser(user);
  overview.setRole(role);
  call.setRole(role);
  checkins.setRole(role);
  devices.setWriter(writes);
  renderCalls();
  $('login').hidden = true;
  $('app').hidden = false;
  $('notify-banner').hidden = !('Notification' in window) || Notification.permission !== 'default';
  showView(role === 'installer' ? 'devices' : 'queue');
  live.startLive({
    onState: renderConn,
    onDevices: overview.setDevicesSummary,
    onRefused: checkSession,
  });
  renderConn(live.liveState());
  openLinked();
}

// openLinked opens the alert a notification's link names (…/#alert=42).
function openLinked() {
  const m = /^#alert=([0-9]{1,18})$/.exec(window.location.hash);
  if (!m || !user) return;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  showView('queue');
  queue.select(Number(m[1]));
}

async function logout() {
  await call.hangup(); // a call must not outlive the session it was answered in
  try {
    await api.post('/api/v1/logout');
  } catch (err) {
    if (err.status !== 401) toast(errorText(err));
  }
  leave();
  showLogin('');
}

function leave() {
  user = null; // first: nothing below may call the API as this user
  call.endAll();
  live.stopLive();
  sound.silence();
  detail.closeDetail();
  store.applySnapshot([]);
  store.setResolved([]);
  store.setFollowUps([]);
  queue.resetQueue();
  overview.hideOverview();
  hideToast();
  api.setCSRF('');
  delete document.body.dataset.role;
  $('calls-banner').hidden = true;
}

function sessionEnded() {
  if (!user) return;
  leave();
  showLogin(t('login.expired'));
}

// The live feed refused us: find out whether the session has ended (then
// log in again) or the hub is just unreachable (then keep retrying).
async function checkSession() {
  try {
    await api.get('/api/v1/me');
  } catch (err) {
    if (err.status === 401) sessionEnded();
  }
}

// renderUser names who is logged in, and their role in the page's language.
function renderUser() {
  $('user-name').replaceChildren(...(user ? [h('span', { translate: 'no' }, user.username), ' · ', label('role', user.role)] : []));
}

// loadFollowUps lists the alerts whose follow-up is due, for those who
// make them (a grid worker sees their grids' and tasks' only).
async function loadFollowUps() {
  if (!['operator', 'supervisor', 'admin', 'gridworker'].includes(user?.role)) return;
  try {
    const resp = await api.get('/api/v1/alerts?followup=pending&limit=200');
    store.setFollowUps(resp.alerts);
  } catch (err) {
    console.warn('follow-ups', err);
  }
}

async function loadReview() {
  const role = user?.role;
  if (role !== 'supervisor' && role !== 'admin') return;
  try {
    const resp = await api.get('/api/v1/alerts?state=resolved&limit=200');
    store.setResolved(resp.alerts);
  } catch (err) {
    console.warn('review list', err);
  }
}

let lastState = '';

function renderConn(state) {
  if (state === 'live' && lastState && lastState !== 'live' && user) {
    detail.refresh(); // what was shown may have changed meanwhile
    hideToast(true);
  }
  lastState = state;
  const el = $('conn-status');
  el.dataset.state = state;
  el.querySelector('.conn-label').textContent = t(`conn.${state}`);
  const stale = String(state !== 'live');
  $('queue').dataset.stale = stale;
  $('alert-detail').dataset.stale = stale;
  $('view-overview').dataset.stale = stale;
  document.body.dataset.live = state;
  $('conn-banner').hidden = state === 'live' || !user;
  clearInterval(retryTick);
  const showRetry = () => {
    const ms = live.retryIn();
    $('conn-retry').textContent = ms ? `（${t('conn.retryIn', { s: Math.ceil(ms / 1000) })}）` : '';
  };
  showRetry();
  if (state === 'offline') retryTick = setInterval(showRetry, 250);
}

function showView(name) {
  view = name;
  for (const v of ['queue', 'devices', 'overview', 'report', 'buildings', 'checkins']) $(`view-${v}`).hidden = v !== name;
  for (const btn of document.querySelectorAll('[data-view]')) {
    btn.classList.toggle('active', btn.dataset.view === name);
    btn.setAttribute('aria-pressed', String(btn.dataset.view === name));
  }
  if (name === 'devices') devices.showDevices();
  if (name === 'overview') { overview.showOverview(); buildings.showOnOverview(); } else { overview.hideOverview(); buildings.hideOverviewTiles(); }
  if (name === 'buildings') buildings.showBuildings(); else buildings.hideBuildings();
  if (name === 'checkins') checkins.showCheckins(); else checkins.hideCheckins();
  if (name === 'report') report.showReport();
}

async function askNotifications() {
  try {
    await Notification.requestPermission();
  } finally {
    $('notify-banner').hidden = Notification.permission === 'default';
  }
}

function onKey(ev) {
  if (!user || view !== 'queue' || ev.ctrlKey || ev.metaKey || ev.altKey || detail.confirming()) return;
  const typing = ev.target.closest?.('input, textarea, select, [contenteditable]');
  if (ev.key === 'Escape') {
    if (typing) ev.target.blur();
    else detail.closeDetail();
    return;
  }
  if (typing) return;
  const actions = { a: 'accept', d: 'dispatch', r: 'resolve', n: 'note' };
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  if (key === 'j' || key === 'ArrowDown') { ev.preventDefault(); queue.move(1); }
  else if (key === 'k' || key === 'ArrowUp') { ev.preventDefault(); queue.move(-1); }
  else if (key === 'Enter' && queue.selected() !== null && !ev.target.closest?.('button, a')) { ev.preventDefault(); detail.openDetail(queue.selected()); }
  else if (actions[key] && detail.shownId() !== null) { ev.preventDefault(); detail.actKey(actions[key]); }
}

init();
