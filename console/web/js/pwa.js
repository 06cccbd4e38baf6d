// The console on a phone's home screen: the web app manifest (index.html)
// and the service worker (/sw.js, which keeps the page's shell and never
// API data). Browsers allow a service worker only on a secure page (HTTPS,
// or the hub's own machine).

/** registerShell registers the service worker; without one the console works as before. */
export function registerShell() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker', err));
}
