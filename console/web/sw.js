// The console's service worker: it keeps the page's shell — the page and
// its own files — so that a phone on the home screen opens the console
// even with no network, and it never keeps API data. The hub serves it at
// /sw.js (console/web.go) with VERSION and SHELL filled in: VERSION changes
// with any file, so an upgrade replaces the old shell at once; SHELL lists
// exactly the files the hub embeds. Requests outside SHELL — /api/…, the
// live feed, recordings, photos — go to the network untouched.
//
// Network first: when the hub answers, the page gets today's files (each
// revalidated by its ETag) and the copy is refreshed; the cache only
// answers when the network does not.

const VERSION = '__VERSION__';
const SHELL = __SHELL__;

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(VERSION).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  ev.respondWith(fetch(req).then((resp) => {
    if (resp.ok) {
      const copy = resp.clone();
      ev.waitUntil(caches.open(VERSION).then((c) => c.put(url.pathname, copy)));
    }
    return resp;
  }).catch(() => caches.open(VERSION)
    .then((c) => c.match(url.pathname))
    .then((hit) => hit || Response.error())));
});
