// The alarm: tones generated with the Web Audio API (no audio files), a
// pattern per severity, repeating while any real (non-test) alert waits in
// state new. It can be muted for 60 s at most, with a countdown on the
// button, and a new alert ends the mute. When the browser will not play
// sound before a click, a banner says so: the alarm is never silent unseen.
//
// The ringtone is a second, independent sound: a telephone's double ring
// (two tones together, 400 and 450 Hz, twice, then a pause), unlike any
// alarm pattern, while a resident's voice call rings and nobody at this
// console is already on a call. The mute silences both; a new call ends it.

import { t } from './i18n.js';

/** sound is the alarm's state, also exposed as window.shouwang.sound for tests and the curious. */
export const sound = { playing: false, ringing: false, mutedUntil: 0, blocked: false, severity: null };

export const muteMillis = 60_000;

// A cycle of notes [start s, length s, frequency Hz] per severity, repeated
// every `every` seconds: critical fast and high, minor slow and low.
const patterns = {
  critical: { every: 1.2, wave: 'square', gain: 0.16, notes: [[0, 0.14, 1046], [0.18, 0.14, 1397], [0.36, 0.14, 1046], [0.54, 0.14, 1397]] },
  major: { every: 2.0, wave: 'triangle', gain: 0.3, notes: [[0, 0.25, 784], [0.35, 0.25, 784]] },
  minor: { every: 3.5, wave: 'sine', gain: 0.3, notes: [[0, 0.4, 523]] },
};

// The ring: bursts [start s, length s] of the tones together, every `every` s.
const ring = { every: 3.0, gain: 0.12, tones: [400, 450], bursts: [[0, 0.4], [0.6, 0.4]] };

let ctx = null;
let wanted = null; // severity that needs sounding, or null
let cycleTimer = 0;
let cycling = null; // severity of the running cycle
let tick = 0;
let ringingCalls = new Set(); // ids of calls ringing on real alerts
let onCall = false; // this console is on a call
let openRinging = []; // the open alerts' ringing call ids, as last given
const settled = new Set(); // calls this console answered or ended: never rung again
let ringTimer = 0;
let ringCycling = false;

function context() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
    ctx.onstatechange = update;
  }
  if (ctx.state === 'suspended') ctx.resume().then(update, () => {});
  return ctx;
}

/** unlock starts or resumes audio inside a user gesture, which browsers require. */
export function unlock() {
  context();
  update();
}

function playCycle() {
  const p = patterns[cycling];
  if (!p || !ctx) return;
  const t0 = ctx.currentTime + 0.02;
  for (const [start, len, freq] of p.notes) {
    const osc = ctx.createOscillator();
    const g = ctx.createGain();
    osc.type = p.wave;
    osc.frequency.value = freq;
    // A short attack and release: no clicks.
    g.gain.setValueAtTime(0, t0 + start);
    g.gain.linearRampToValueAtTime(p.gain, t0 + start + 0.01);
    g.gain.setValueAtTime(p.gain, t0 + start + len - 0.02);
    g.gain.linearRampToValueAtTime(0, t0 + start + len);
    osc.connect(g).connect(ctx.destination);
    osc.start(t0 + start);
    osc.stop(t0 + start + len + 0.01);
  }
  cycleTimer = setTimeout(playCycle, p.every * 1000);
}

function stopCycle() {
  clearTimeout(cycleTimer);
  cycling = null;
}

function playRing() {
  if (!ctx) return;
  const t0 = ctx.currentTime + 0.02;
  for (const [start, len] of ring.bursts) {
    const g = ctx.createGain();
    g.gain.setValueAtTime(0, t0 + start);
    g.gain.linearRampToValueAtTime(ring.gain, t0 + start + 0.015);
    g.gain.setValueAtTime(ring.gain, t0 + start + len - 0.03);
    g.gain.linearRampToValueAtTime(0, t0 + start + len);
    g.connect(ctx.destination);
    for (const freq of ring.tones) {
      const osc = ctx.createOscillator();
      osc.type = 'sine';
      osc.frequency.value = freq;
      osc.connect(g);
      osc.start(t0 + start);
      osc.stop(t0 + start + len + 0.01);
    }
  }
  ringTimer = setTimeout(playRing, ring.every * 1000);
}

function stopRing() {
  clearTimeout(ringTimer);
  ringCycling = false;
}

function update() {
  const muted = sound.mutedUntil > Date.now();
  if (!muted && sound.mutedUntil) sound.mutedUntil = 0;
  const should = wanted !== null && !muted;
  const ringShould = ringingCalls.size > 0 && !onCall && !muted;
  const audible = (should || ringShould) && context()?.state === 'running';
  const running = should && audible;
  if (running && cycling !== wanted) {
    stopCycle();
    cycling = wanted;
    playCycle();
  } else if (!running && cycling) {
    stopCycle();
  }
  const ringing = ringShould && audible;
  if (ringing && !ringCycling) {
    ringCycling = true;
    playRing();
  } else if (!ringing && ringCycling) {
    stopRing();
  }
  sound.playing = running;
  sound.ringing = ringing;
  sound.severity = should ? wanted : null;
  sound.blocked = (should || ringShould) && !audible;
  document.body.dataset.alarm = running ? 'on' : 'off';
  document.body.dataset.ring = ringing ? 'on' : 'off';
  document.body.dataset.muted = String(muted);
  const banner = document.getElementById('sound-banner');
  if (banner) banner.hidden = !sound.blocked;
  renderMute();
  // While muted, count down each second; then the alarm comes back by itself.
  clearInterval(tick);
  if (muted) tick = setInterval(update, 1000);
}

function renderMute() {
  const btn = document.getElementById('mute');
  if (!btn) return;
  const left = Math.ceil((sound.mutedUntil - Date.now()) / 1000);
  const lbl = btn.querySelector('.mute-label');
  if (left > 0) {
    btn.dataset.muted = 'true';
    lbl.textContent = t('sound.muted', { s: left });
  } else {
    btn.dataset.muted = 'false';
    lbl.textContent = t('sound.mute');
  }
}

/**
 * setAlerts decides what should sound from the open alerts: the pattern of
 * the worst severity among real alerts still new.
 */
export function setAlerts(open) {
  if (document.body.dataset.role === 'installer') {
    // Installers do not answer alerts: their screens stay quiet.
    wanted = null;
    openRinging = [];
    ringingCalls = new Set();
    update();
    return;
  }
  // A call that starts ringing must be heard, as a new alert must.
  openRinging = open.filter((a) => !a.test && a.call?.state === 'ringing').map((a) => a.call.id);
  ringing();
  const rank = { critical: 3, major: 2, minor: 1 };
  let worst = null;
  for (const a of open) {
    if (a.state !== 'new' || a.test) continue;
    if (!worst || (rank[a.severity] || 0) > (rank[worst] || 0)) worst = a.severity;
  }
  wanted = worst && patterns[worst] ? worst : worst ? 'minor' : null;
  update();
}

// ringing recounts the calls that ring, ending a mute for a new one.
function ringing() {
  const rings = new Set(openRinging.filter((id) => !settled.has(id)));
  if ([...rings].some((id) => !ringingCalls.has(id))) sound.mutedUntil = 0;
  ringingCalls = rings;
}

/**
 * settleCall stops call id ringing here for good: this console answered or
 * ended it, and the hub's word of that may not have arrived yet.
 */
export function settleCall(id) {
  if (!id) return;
  settled.add(id);
  if (settled.size > 100) settled.delete(settled.values().next().value);
  ringing();
  update();
}

/** setOnCall tells whether this console is on a call: then the ringtone stops. */
export function setOnCall(v) {
  onCall = !!v;
  update();
}

/** newAlert ends a mute: a new alert must always be heard. */
export function newAlert() {
  if (sound.mutedUntil) {
    sound.mutedUntil = 0;
    update();
  }
}

/** toggleMute mutes for 60 s, or ends a mute early. */
export function toggleMute() {
  sound.mutedUntil = sound.mutedUntil > Date.now() ? 0 : Date.now() + muteMillis;
  update();
}

/** silence stops everything (on logout). */
export function silence() {
  wanted = null;
  ringingCalls = new Set();
  openRinging = [];
  onCall = false;
  sound.mutedUntil = 0;
  update();
}

/** refreshLabels re-renders the mute button after a language switch. */
export function refreshLabels() { renderMute(); }
