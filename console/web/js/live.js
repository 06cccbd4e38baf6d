// The live feed: a WebSocket to /api/v1/live that delivers a snapshot, then
// every change. When the connection drops the page says so at once and
// reconnects with back-off (0.5 s doubling to 5 s), resuming from the last
// sequence number it applied so that nothing is missed and nothing doubled.

import * as store from './store.js';

const minDelay = 500;
const maxDelay = 5000;

let ws = null;
let seq = null; // the last sequence number applied; null before the first snapshot
let state = 'connecting';
let attempts = 0;
let retryTimer = 0;
let retryAt = 0;
let stopped = true;
let hooks = { onState() {}, onDevices() {}, onRefused() {} };

/** liveState returns 'live', 'connecting' or 'offline'. */
export function liveState() { return state; }

/** lastSeq returns the sequence number of the last snapshot or change applied. */
export function lastSeq() { return seq; }

/** retryIn returns the milliseconds until the next reconnection attempt, 0 if none is waiting. */
export function retryIn() { return state === 'offline' && retryAt ? Math.max(0, retryAt - Date.now()) : 0; }

function setState(s) {
  if (state === s) return;
  state = s;
  hooks.onState(s);
}

/**
 * startLive connects. hooks: onState(state), onDevices(summary) with the
 * snapshot's device summary, onRefused() when the handshake failed (the
 * caller checks whether the session ended).
 */
export function startLive(h) {
  hooks = { ...hooks, ...h };
  stopped = false;
  seq = null;
  attempts = 0;
  connect();
}

/** stopLive closes the feed for good (on logout). */
export function stopLive() {
  stopped = true;
  clearTimeout(retryTimer);
  if (ws) {
    ws.onclose = null;
    ws.close(1000, 'logout');
    ws = null;
  }
  setState('offline');
}

/** reconnectNow skips the back-off wait. */
export function reconnectNow() {
  if (stopped || ws) return;
  clearTimeout(retryTimer);
  connect();
}

function connect() {
  clearTimeout(retryTimer);
  retryAt = 0;
  setState('connecting');
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${proto}//${location.host}/api/v1/live${seq !== null ? `?since=${seq}` : ''}`;
  let opened = false;
  let sock;
  try {
    sock = new WebSocket(url);
  } catch (err) {
    console.error('live: connect', err);
    scheduleRetry(false);
    return;
  }
  ws = sock;
  sock.onopen = () => {
    opened = true;
    attempts = 0;
    // Resuming, the replay follows and may be empty: the page is current
    // now. A first connection is current once its snapshot has arrived.
    if (seq !== null) setState('live');
  };
  sock.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { console.error('live: bad message', ev.data); return; }
    if (msg.type === 'snapshot') {
      seq = msg.seq;
      store.applySnapshot(msg.alerts);
      if (msg.devices) hooks.onDevices(msg.devices);
      setState('live');
    } else if (msg.type === 'change') {
      if (seq !== null && msg.seq <= seq) return; // already applied
      seq = msg.seq;
      if (msg.alert) store.applyChange(msg.alert);
    }
  };
  sock.onerror = () => { /* onclose follows and decides */ };
  sock.onclose = (ev) => {
    if (ws === sock) ws = null;
    if (stopped) return;
    if (ev.code !== 1000 && ev.code !== 1001) console.warn('live: closed', ev.code, ev.reason);
    scheduleRetry(opened);
  };
}

function scheduleRetry(wasOpen) {
  if (stopped) return;
  const delay = Math.min(maxDelay, minDelay * 2 ** attempts);
  attempts++;
  retryAt = Date.now() + delay;
  setState('offline');
  if (!wasOpen) hooks.onRefused();
  retryTimer = setTimeout(connect, delay);
}

// The operating system knows first when the network goes: drop the socket
// rather than trust it, and try again as soon as the network is back.
window.addEventListener('offline', () => {
  if (!ws || stopped) return;
  const sock = ws;
  ws = null;
  sock.onclose = null;
  sock.close();
  scheduleRetry(true);
});
window.addEventListener('online', () => reconnectNow());
