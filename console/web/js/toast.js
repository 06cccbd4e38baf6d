// The toast: one message at a time at the bottom of the screen. Errors stay
// long enough to read (and until clicked), confirmations briefly.

const el = () => document.getElementById('toast');
let timer = 0;

/**
 * toast shows message; kind is 'error' or 'ok'. A message about the server
 * being unreachable is marked so that it can go when the connection is back.
 */
export function toast(message, kind = 'error', { network = false } = {}) {
  const box = el();
  clearTimeout(timer);
  box.textContent = message;
  box.dataset.kind = kind;
  box.dataset.network = String(network);
  box.hidden = false;
  timer = setTimeout(hideToast, kind === 'error' ? 12000 : 3000);
}

/** hideToast removes the toast; with onlyNetwork, only one about the server being unreachable. */
export function hideToast(onlyNetwork = false) {
  const box = el();
  if (onlyNetwork && box.dataset.network !== 'true') return;
  clearTimeout(timer);
  box.hidden = true;
}

document.addEventListener('DOMContentLoaded', () => el().addEventListener('click', () => hideToast()));
