// Calls to the public API from the page, as the signed-in browser: same origin, the
// session cookie, and the session's CSRF token on every change.
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

export function apiFetch(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const method = (options.method || 'GET').toUpperCase();
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && csrfToken()) {
    headers.set('X-CSRF-Token', csrfToken());
  }
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  return fetch(url, { ...options, method, headers, credentials: 'same-origin' });
}
