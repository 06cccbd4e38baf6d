// Calls to the hub's JSON API with the session cookie, the CSRF token on
// every state-changing request, and errors that carry the server's message.

/** ApiError is a failed call: status (0 when the server was not reached), code and message from the server. */
export class ApiError extends Error {
  constructor(status, code, message, body, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || {};
    this.headers = headers;
  }
}

let csrfToken = '';
let onUnauthorized = () => {};

/** setCSRF keeps the session's CSRF token for later requests. */
export function setCSRF(token) { csrfToken = token || ''; }

/** setUnauthorizedHandler sets what happens when the session has ended (a 401 on a call other than login). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

const unsafe = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * request calls the API. body is sent as JSON unless it is a Blob or File
 * (sent as is, with contentType). It resolves to the decoded JSON (or null
 * for an empty answer) and rejects with an ApiError.
 */
export async function request(method, path, body, { contentType, retried } = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = contentType || body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (unsafe.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network', err.message || 'network error');
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.trim() }; }
  }
  if (resp.ok) return data;
  const err = new ApiError(resp.status, data?.code || String(resp.status), data?.error || resp.statusText, data, resp.headers);
  // A lost CSRF token (another tab logged in again): fetch the session's
  // current token and try once more.
  if (resp.status === 403 && /csrf/i.test(err.message) && !retried) {
    try {
      const me = await request('GET', '/api/v1/me');
      setCSRF(me.csrf_token);
      return request(method, path, body, { contentType, retried: true });
    } catch { /* fall through to the first error */ }
  }
  if (resp.status === 401 && path !== '/api/v1/login' && path !== '/api/v1/me') onUnauthorized(err);
  throw err;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const put = (path, body) => request('PUT', path, body);
