// The page's copy of the open alerts, kept by the live feed: a snapshot
// replaces it, a change updates one alert if it is newer than the copy held
// (so a replay overlapping what the page already has is harmless), and an
// alert that is no longer open leaves the queue.

const alerts = new Map(); // id → alert, open ones only
const resolved = new Map(); // id → alert resolved and waiting for review
const followUps = new Map(); // id → alert whose follow-up is due and not recorded
const versions = new Map(); // id → highest version seen, open or not
const listeners = [];

/** onChange registers fn(kind, info) for 'snapshot' ({added}) and 'change' ({alert, added, removed}). */
export function onChange(fn) { listeners.push(fn); }

function emit(kind, info) {
  for (const fn of listeners) {
    try { fn(kind, info); } catch (err) { console.error('store listener', err); }
  }
}

const isOpen = (a) => a.state === 'new' || a.state === 'accepted' || a.state === 'dispatched';

/** applySnapshot replaces every open alert. added lists alerts the page had not seen before. */
export function applySnapshot(list) {
  const before = new Set(versions.keys());
  alerts.clear();
  const added = [];
  for (const a of list || []) {
    if (!isOpen(a)) continue;
    alerts.set(a.id, a);
    versions.set(a.id, a.version || 0); // the snapshot is the truth now
    if (!before.has(a.id)) added.push(a);
  }
  emit('snapshot', { added });
}

/**
 * applyChange applies one changed alert. It returns false, changing
 * nothing, when the page already holds this version or a newer one.
 */
export function applyChange(a) {
  const seen = versions.get(a.id);
  if (seen !== undefined && (a.version || 0) <= seen) return false;
  versions.set(a.id, a.version || 0);
  const added = seen === undefined;
  let removed = false;
  if (isOpen(a)) {
    alerts.set(a.id, a);
  } else {
    removed = alerts.delete(a.id);
  }
  if (a.state === 'resolved') resolved.set(a.id, a);
  else resolved.delete(a.id);
  if (followUpPending(a)) followUps.set(a.id, a);
  else followUps.delete(a.id);
  emit('change', { alert: a, added, removed });
  return true;
}

/** setResolved replaces the alerts waiting for review (from GET /api/v1/alerts?state=resolved). */
export function setResolved(list) {
  resolved.clear();
  for (const a of list || []) {
    if ((versions.get(a.id) || 0) > (a.version || 0)) continue; // the feed already told of a later change
    resolved.set(a.id, a);
  }
  emit('resolved', {});
}

const followUpPending = (a) => !!a.follow_up && !!a.follow_up.due && !a.follow_up.done_at;

/** setFollowUps replaces the alerts whose follow-up is due (from GET /api/v1/alerts?followup=pending). */
export function setFollowUps(list) {
  followUps.clear();
  for (const a of list || []) {
    if ((versions.get(a.id) || 0) > (a.version || 0)) continue;
    if (followUpPending(a)) followUps.set(a.id, a);
  }
  emit('followups', {});
}

/** followUpAlerts returns the alerts whose follow-up is due, the earliest due first. */
export function followUpAlerts() {
  return [...followUps.values()].sort((x, y) => Date.parse(x.follow_up.due) - Date.parse(y.follow_up.due));
}

/** openAlerts returns the open alerts, most urgent first: severity, then tests last, then oldest first. */
export function openAlerts() {
  return [...alerts.values()].sort(compareAlerts);
}

/** resolvedAlerts returns the resolved alerts waiting for review, oldest first. */
export function resolvedAlerts() {
  return [...resolved.values()].sort((x, y) => Date.parse(x.resolved_at || x.updated_at) - Date.parse(y.resolved_at || y.updated_at));
}

/** get returns the open or resolved alert with id, if the page holds it. */
export function get(id) { return alerts.get(id) || resolved.get(id) || followUps.get(id); }

const rank = { critical: 3, major: 2, minor: 1 };

/** compareAlerts orders the queue: worst severity first, real alerts before tests, then the oldest first. */
export function compareAlerts(x, y) {
  return (rank[y.severity] || 0) - (rank[x.severity] || 0)
    || Number(!!x.test) - Number(!!y.test)
    || Date.parse(x.opened_at) - Date.parse(y.opened_at)
    || x.id - y.id;
}
