// Whether this PC can take calls, found out when the page opens — at the
// login form — rather than at the first ring: the browser gives a page the
// microphone only when it is a secure context (HTTPS, or localhost), the
// browser must have WebRTC, the PC a microphone, and the page must not have
// been refused it. The answer is rechecked when devices or the permission
// change (a headset plugged in).

const listeners = [];
let state = { ok: true, reason: '' };
let watching = false;

/** callCapability is the last finding: {ok, reason}, reason one of insecure, unsupported, noMic, micDenied. */
export function callCapability() { return state; }

/** onCapabilityChange registers fn, called with the finding whenever it changes. */
export function onCapabilityChange(fn) { listeners.push(fn); }

/** checkCalls finds out whether this PC can take calls and returns the finding. */
export async function checkCalls() {
  const reason = await findReason();
  if (reason !== state.reason) {
    state = { ok: reason === '', reason };
    for (const fn of listeners) {
      try { fn(state); } catch (err) { console.error('capability listener', err); }
    }
  }
  return state;
}

async function findReason() {
  if (!window.isSecureContext) return 'insecure';
  const md = navigator.mediaDevices;
  if (!window.RTCPeerConnection || !md?.getUserMedia || !md.enumerateDevices) return 'unsupported';
  watch(md);
  try {
    const status = await navigator.permissions?.query({ name: 'microphone' });
    if (status) status.onchange = () => { checkCalls(); };
    if (status?.state === 'denied') return 'micDenied';
  } catch { /* the permission cannot be queried here: the answer will tell */ }
  try {
    // Before the microphone is allowed, browsers list devices without
    // their names, but they do list them: none means none.
    const devices = await md.enumerateDevices();
    if (!devices.some((d) => d.kind === 'audioinput')) return 'noMic';
  } catch { /* cannot tell: the answer will */ }
  return '';
}

function watch(md) {
  if (watching) return;
  watching = true;
  md.addEventListener?.('devicechange', () => { checkCalls(); });
}
