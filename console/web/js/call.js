// Voice calls at the console: a resident's call rings on its alert; an
// operator answers it here, in the browser's own WebRTC (the microphone, one
// peer connection to the hub, its audio played back), hangs up, or asks a
// voice device to call back; finished calls are played back from the
// timeline. Signalling is one request: the page gathers every ICE candidate
// first (no trickle), POSTs its offer over the console's authenticated
// connection and applies the hub's answer.

import * as api from './api.js';
import * as store from './store.js';
import * as sound from './sound.js';
import { t, onLangChange } from './i18n.js';
import { h, ms, clock, label, errorText } from './format.js';
import { toast } from './toast.js';

// How long to wait for ICE gathering before offering what there is.
const gatherMillis = 3000;
// How long a call may stay disconnected (ICE may recover) before it ends.
const disconnectGraceMillis = 5000;
// How long an answer's audio may take to connect before it is released
// back to ringing (the hub's own bound, ConnectTimeout, is longer).
const connectMillis = 10_000;
// How long after a call-back the device's call is answered here by itself.
const callbackMillis = 60_000;

const callIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

// The call this console is on, or was last on. state: idle (none yet),
// connecting, connected or ended.
const active = {
  state: 'idle', id: null, alertId: null, deviceId: null, pc: null, stream: null,
  connectedAt: 0, endedAt: 0, reason: '',
};

/** callInfo is the console's call, also exposed as window.shouwang.call: state and the RTCPeerConnection (for getStats). */
export const callInfo = {
  get state() { return active.state; },
  get pc() { return active.pc; },
  get id() { return active.id; },
  get alertId() { return active.alertId; },
};

let role = '';
let shown = null; // the alert the detail pane shows
let shownDevice = null; // its device, as registered now if known
let pending = null; // a call-back waiting for the device's call: {deviceId, at}
let disconnectTimer = 0;
let connectTimer = 0;
// The hub has said this console's answer was taken (the call answered by
// it): from then on the call ringing again means the hub released it.
let hubAnswered = false;
let attempt = 0; // numbers answers, so a stale one's steps stop
// The last answer that failed: {callId, msg} or {callId, reason} (a code
// rendered in the reader's language). The call is still ringing, here and
// at every console; the panel says why.
let failure = null;
let capability = { ok: true, reason: '' }; // capability.js's finding
let openAlert = () => {};
// The shown alert's recording players by URL, kept across re-renders of the
// timeline so that a change to the alert does not stop a playback.
let players = new Map();

const $ = (id) => document.getElementById(id);

/** initCall wires the call controls; open(id) shows an alert. */
export function initCall({ open }) {
  openAlert = open;
  $('btn-answer-call').addEventListener('click', () => {
    if (shown?.call?.state === 'ringing') answer(shown.id, shown.call.id);
  });
  $('btn-hangup-call').addEventListener('click', hangup);
  $('call-bar-hangup').addEventListener('click', hangup);
  $('call-bar-open').addEventListener('click', () => { if (active.alertId !== null) openAlert(active.alertId); });
  $('btn-callback').addEventListener('click', () => { if (shown?.device_id) callback(shown.device_id); });
  store.onChange(alertsChanged);
  // Leaving the page closes the connection: the hub sees the peer go.
  window.addEventListener('pagehide', () => endLocal(active.id, 'left'));
  setInterval(tick, 1000);
  onLangChange(changed);
  changed();
}

/** setCapability tells whether this PC can take calls (capability.js), to say so beside a ringing call. */
export function setCapability(cap) {
  capability = cap || { ok: true, reason: '' };
  renderPanel();
}

/** setRole shows call controls to those who answer alerts. */
export function setRole(r) {
  role = r;
  renderPanel();
}

/** showAlert renders the detail pane's call panel for alert a (null when the pane closes) and its device. */
export function showAlert(a, device) {
  if (!a || a.id !== shown?.id) players = new Map();
  shown = a || null;
  shownDevice = device || a?.device || null;
  renderPanel();
}

/** onCall reports whether this console is on a call (connecting or connected). */
export function onCall() { return active.state === 'connecting' || active.state === 'connected'; }

const answers = () => role === 'operator' || role === 'supervisor' || role === 'admin';
const live = (id) => id !== null && active.id === id && onCall();

/** answer answers a ringing call on an alert with this browser's microphone. */
export async function answer(alertId, callId) {
  if (onCall()) { toast(t('call.busy'), 'error'); return; }
  if (!callIdPattern.test(callId || '')) return;
  if (!window.RTCPeerConnection || !navigator.mediaDevices?.getUserMedia) {
    failure = { callId, msg: t(window.isSecureContext ? 'calls.why.unsupported' : 'calls.why.insecure') };
    toast(t('call.failedRinging', { msg: failureText(failure) }), 'error');
    renderPanel();
    return;
  }
  clearTimeout(disconnectTimer);
  clearTimeout(connectTimer);
  hubAnswered = false;
  if (failure?.callId === callId) failure = null;
  if (pending && pending.deviceId === store.get(alertId)?.device_id) pending = null;
  Object.assign(active, {
    state: 'connecting', id: callId, alertId, deviceId: store.get(alertId)?.device_id ?? null,
    pc: null, stream: null, connectedAt: 0, endedAt: 0, reason: '',
  });
  changed();
  const path = `/api/v1/calls/${encodeURIComponent(callId)}`;
  const mine = ++attempt;
  const still = () => attempt === mine && live(callId);
  let answered = false;
  try {
    const [stream, iceServers] = await Promise.all([navigator.mediaDevices.getUserMedia({ audio: true }), hubICEServers()]);
    if (!still()) { stopTracks(stream); return; }
    active.stream = stream;
    const pc = new RTCPeerConnection({ iceServers });
    active.pc = pc;
    changed();
    for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
    pc.addEventListener('track', (ev) => play(ev, pc));
    pc.addEventListener('connectionstatechange', () => connectionChanged(pc, callId));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, gatherMillis);
    if (!still()) return;
    const resp = await api.post(`${path}/answer`, { sdp: pc.localDescription.sdp });
    answered = true;
    if (!still()) {
      // Hung up while the hub was answering: end it there too.
      api.post(`${path}/hangup`).catch(() => {});
      return;
    }
    // The audio connects within connectMillis, or the answer is let go.
    connectTimer = setTimeout(() => {
      if (live(callId) && active.pc === pc && active.state === 'connecting') release(callId, 'media_timeout');
    }, connectMillis);
    await pc.setRemoteDescription({ type: 'answer', sdp: resp.sdp });
  } catch (err) {
    if (!still()) return;
    const msg = err instanceof api.ApiError ? errorText(err) : mediaError(err);
    if (!answered) {
      // The hub never took the call: it rings on, here and everywhere.
      failAnswer(callId, { msg });
      return;
    }
    // The hub took it but this browser cannot use its answer: no audio
    // will flow, so the call goes back to ringing, never ends.
    console.warn('answer', err);
    release(callId, 'media_failed');
  }
}

// release gives back an answer whose audio never connected: the call
// rings again here and at every console (the hub is told, and would do it
// by itself within its own bound), with the reason beside it.
async function release(callId, reason) {
  if (!live(callId)) return;
  failAnswer(callId, { reason });
  try {
    await api.post(`/api/v1/calls/${encodeURIComponent(callId)}/release`, { reason });
  } catch (err) {
    // 404/409: ended, answered by another, or released already.
    if (err.status !== 404 && err.status !== 409) console.warn('release', err);
  }
}

// hubICEServers are the STUN and TURN servers the hub gives browsers, so a
// console behind NAT can reach its relay; none if it cannot say.
async function hubICEServers() {
  try {
    return (await api.get('/api/v1/calls/ice-servers'))?.ice_servers || [];
  } catch (err) {
    console.warn('ice servers', err);
    return [];
  }
}

// failAnswer undoes an answer that brought no audio (no microphone,
// refused, the request failed, the connection never came up): the
// microphone off, the connection closed, and the call left ringing — not
// settled, so the ringtone goes on — with why beside it: why is {msg} (a
// text) or {reason} (a code shown in the reader's language).
function failAnswer(callId, why) {
  clearTimeout(disconnectTimer);
  clearTimeout(connectTimer);
  hubAnswered = false;
  stopTracks(active.stream);
  try { active.pc?.close(); } catch { /* never opened */ }
  Object.assign(active, {
    state: 'idle', id: null, alertId: null, deviceId: null, pc: null, stream: null,
    connectedAt: 0, endedAt: 0, reason: '',
  });
  failure = { callId, ...why };
  changed();
  toast(t('call.failedRinging', { msg: failureText(failure) }), 'error');
}

function failureText(f) {
  return f.reason ? label('callReason', f.reason) : f.msg;
}

/** hangup ends this console's call: at once here, then at the hub. */
export async function hangup() {
  const id = active.id;
  if (!live(id)) return;
  endLocal(id, 'hangup');
  try {
    await api.post(`/api/v1/calls/${encodeURIComponent(id)}/hangup`);
    toast(t('call.hungUp'), 'ok');
  } catch (err) {
    // Already over at the hub (404, 409): nothing to say. Unreachable: the
    // hub ends the call when the connection goes quiet.
    if (err.status !== 404 && err.status !== 409) toast(t('call.hangupFailed', { msg: errorText(err) }), 'error');
  }
}

/** endAll ends any call here without telling the hub (the session is over; the hub sees the connection close). */
export function endAll() {
  pending = null;
  endLocal(active.id, 'left');
}

/** callback asks a voice device to call; its call is answered here when it rings within a minute. */
export async function callback(deviceId) {
  const btn = $('btn-callback');
  btn.disabled = true;
  try {
    await api.post(`/api/v1/devices/${encodeURIComponent(deviceId)}/callback`);
    pending = { deviceId, at: Date.now() };
    toast(t('call.callbackSent'), 'ok');
    alertsChanged();
  } catch (err) {
    toast(t('call.callbackFailed', { msg: errorText(err) }), 'error');
  } finally {
    btn.disabled = false;
    renderPanel();
  }
}

// gathered resolves when the connection has gathered its ICE candidates,
// or after ms with what it has.
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function play(ev, pc) {
  if (active.pc !== pc) return;
  const audio = $('call-audio');
  audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
  audio.play().catch((err) => console.warn('call audio', err));
}

function connectionChanged(pc, callId) {
  if (!live(callId) || active.pc !== pc) return;
  switch (pc.connectionState) {
    case 'connected':
      clearTimeout(disconnectTimer);
      clearTimeout(connectTimer);
      if (active.state !== 'connected') {
        active.state = 'connected';
        active.connectedAt = Date.now();
        changed();
      }
      break;
    case 'disconnected':
      clearTimeout(disconnectTimer);
      disconnectTimer = setTimeout(() => {
        if (live(callId) && pc.connectionState !== 'connected') lost(callId);
      }, disconnectGraceMillis);
      break;
    case 'failed':
    case 'closed':
      // Never connected: the answer is let go and the call rings again.
      if (active.state === 'connecting') release(callId, 'media_failed');
      else lost(callId);
      break;
  }
}

function lost(callId) {
  endLocal(callId, 'lost');
  toast(t('call.lost'), 'error');
}

// endLocal ends call callId here: the microphone off, the connection closed.
function endLocal(callId, reason) {
  if (!live(callId)) return;
  clearTimeout(disconnectTimer);
  clearTimeout(connectTimer);
  active.state = 'ended';
  active.reason = reason;
  active.endedAt = Date.now();
  sound.settleCall(callId);
  stopTracks(active.stream);
  active.stream = null;
  try { active.pc?.close(); } catch { /* already closed */ }
  const audio = $('call-audio');
  audio.pause();
  audio.srcObject = null;
  changed();
}

function stopTracks(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

function mediaError(err) {
  if (err?.name === 'NotAllowedError' || err?.name === 'SecurityError') return t('call.micDenied');
  if (err?.name === 'NotFoundError' || err?.name === 'NotReadableError') return t('call.noMic');
  return err?.message || String(err);
}

// alertsChanged follows the calls on alerts: the hub ending this console's
// call (the resident hung up, the peer vanished), and the device's call
// after a call-back from here, which this console answers by itself.
function alertsChanged() {
  if (onCall()) {
    const a = store.get(active.alertId);
    if (a?.call?.id === active.id && a.call.state === 'ended') {
      endLocal(active.id, 'remote');
      toast(t('call.endedRemote'), 'ok');
    } else if (a?.call?.id === active.id && active.state === 'connecting') {
      // Ringing again after the hub took this answer: the hub released
      // it (this console's audio never reached it).
      if (a.call.state === 'answered') hubAnswered = true;
      else if (a.call.state === 'ringing' && hubAnswered) failAnswer(active.id, { reason: 'media_failed' });
    }
  }
  if (pending && Date.now() - pending.at > callbackMillis) pending = null;
  if (pending && !onCall()) {
    const a = store.openAlerts().find((x) => x.device_id === pending.deviceId && x.call?.state === 'ringing' &&
      callIdPattern.test(x.call.id || ''));
    if (a) {
      pending = null;
      openAlert(a.id);
      answer(a.id, a.call.id);
    }
  }
  renderPanel();
}

// changed shows a change of this console's call everywhere it shows.
function changed() {
  sound.setOnCall(onCall());
  document.body.dataset.call = active.state;
  renderPanel();
  renderBar();
}

// panelState is what the detail pane says of alert a's call: this
// console's own call first, else the hub's word on the alert's.
function panelState(a) {
  if (!a) return { state: 'none' };
  if (active.alertId === a.id && onCall()) return { state: active.state, mine: true };
  const c = a.call;
  // This console ended the call: the hub's word may not be here yet.
  if (c && c.state !== 'ended' && c.id === active.id && active.state === 'ended') return { state: 'ended', mine: true };
  if (c?.state === 'ringing') return { state: 'ringing' };
  if (c?.state === 'answered') return { state: 'connected', mine: false };
  if (c?.state === 'ended') return { state: 'ended' };
  if (active.alertId === a.id && active.state === 'ended') return { state: 'ended', mine: true };
  return { state: 'none' };
}

function renderPanel() {
  const a = shown;
  const panel = $('call-panel');
  if (!panel) return;
  const { state, mine } = panelState(a);
  const voice = (shownDevice?.capabilities || []).includes('voice');
  const can = answers() && !!a?.kind;
  panel.hidden = !a?.kind || (state === 'none' && !(can && voice));
  const status = $('call-status');
  status.hidden = state === 'none';
  status.dataset.state = state;
  status.dataset.mine = String(!!mine);
  $('call-label').textContent = state === 'none' ? '' : panelLabel(a, state, mine);
  $('call-timer').textContent = panelTimer(a, state, mine);

  const answerBtn = $('btn-answer-call');
  answerBtn.hidden = !(can && state === 'ringing');
  answerBtn.disabled = onCall();
  answerBtn.title = onCall() ? t('call.busy') : '';
  $('btn-hangup-call').hidden = !(mine && (state === 'connecting' || state === 'connected'));
  const note = $('call-note');
  let noteText = '';
  if (can && state === 'ringing') {
    if (failure && failure.callId === a.call?.id) noteText = t('call.failedRinging', { msg: failureText(failure) });
    else if (!capability.ok) noteText = t('calls.cannot', { why: t(`calls.why.${capability.reason}`) });
  }
  note.textContent = noteText;
  note.hidden = !noteText;
  note.dataset.reason = (can && state === 'ringing' && failure?.callId === a.call?.id && failure.reason) || '';
  const cb = $('btn-callback');
  const waiting = !!pending && pending.deviceId === a?.device_id;
  cb.hidden = !(can && voice && ['none', 'ended'].includes(state));
  if (!cb.hidden) {
    cb.disabled = onCall() || waiting;
    cb.textContent = waiting ? t('call.callbackPending') : t('call.callback');
  }
}

function panelLabel(a, state, mine) {
  switch (state) {
    case 'ringing': return t('call.ringing');
    case 'connecting': return t('call.connecting');
    case 'connected': return mine ? t('call.connected') : t('call.answeredBy', { name: a.call?.answered_by || '' });
    default: {
      const reason = a.call?.state === 'ended' ? a.call.end_reason : '';
      return reason ? `${t('call.ended')} · ${label('callReason', reason)}` : t('call.ended');
    }
  }
}

function panelTimer(a, state, mine) {
  const now = Date.now();
  switch (state) {
    case 'ringing': return clock(now - (ms(a.call?.started_at) || now));
    case 'connecting': return '';
    case 'connected': return clock(now - ((mine ? active.connectedAt : ms(a.call?.answered_at)) || now));
    case 'ended': {
      const from = mine ? active.connectedAt : ms(a.call?.answered_at);
      const to = mine ? active.endedAt : ms(a.call?.ended_at);
      return from && to ? clock(to - from) : '';
    }
    default: return '';
  }
}

// renderBar shows this console's call in the top bar, wherever the page is.
function renderBar() {
  const bar = $('call-bar');
  if (!bar) return;
  bar.hidden = !onCall();
  bar.dataset.state = active.state;
  if (bar.hidden) return;
  const a = store.get(active.alertId);
  const who = a?.device?.resident?.name || active.deviceId || '';
  $('call-bar-label').textContent = [active.state === 'connected' ? t('call.connected') : t('call.connecting'), who].filter(Boolean).join(' · ');
  $('call-bar-timer').textContent = active.state === 'connected' ? clock(Date.now() - active.connectedAt) : '';
}

function tick() {
  if (shown && !$('call-status').hidden) {
    const { state, mine } = panelState(shown);
    $('call-timer').textContent = panelTimer(shown, state, mine);
  }
  if (onCall()) renderBar();
}

/**
 * recordings returns players for a call's recordings named by a timeline
 * entry (call_ended with recording_device / recording_console, or a
 * recordings list), or null. Installers get none: the hub would refuse them.
 */
export function recordings(entry) {
  if (entry?.action !== 'call_ended' || !answers()) return null;
  const d = entry.data || {};
  const id = d.call;
  if (!callIdPattern.test(id || '')) return null;
  const listed = recordingSides(d.recordings);
  const sides = ['device', 'console'].filter((s) => d[`recording_${s}`] || listed.includes(s));
  if (!sides.length) return null;
  return h('div', { class: 'recordings' }, ...sides.map((side) => {
    const src = `/api/v1/calls/${encodeURIComponent(id)}/recordings/${side}`;
    let player = players.get(src);
    if (!player) {
      player = h('audio', { controls: true, preload: 'none', src, dataset: { call: id, side } });
      players.set(src, player);
    }
    return h('div', { class: 'recording' },
      h('span', { class: 'recording-side' }, t(side === 'device' ? 'call.recordingDevice' : 'call.recordingConsole')),
      player);
  }));
}

// recordingSides reads a recordings value: a JSON object or list of sides,
// or a list separated by commas or spaces.
function recordingSides(v) {
  if (!v) return [];
  try {
    const parsed = JSON.parse(v);
    if (Array.isArray(parsed)) return parsed.map(String);
    if (parsed && typeof parsed === 'object') return Object.keys(parsed).filter((k) => parsed[k]);
  } catch { /* a plain list */ }
  return String(v).split(/[\s,;]+/);
}

