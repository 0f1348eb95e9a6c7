// The token a page works with, and calls of the REST API with it.
//
// A link carries the token in its fragment (`#t=<JWT>`): browsers never send a fragment to a
// server, so the token stays out of access logs, proxies and Referer headers. The page moves it
// to sessionStorage (this tab only, gone when the tab closes) and removes it from the address
// bar, so that a reload still works and a copied address or a screenshot does not leak it.

export function takeToken(storageKey) {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromLink = params.get('t');
  if (fromLink) {
    try {
      sessionStorage.setItem(storageKey, fromLink);
    } catch {
      // storage disabled: the token lives in memory only
    }
    history.replaceState(null, '', location.pathname + location.search);
    return fromLink;
  }
  try {
    return sessionStorage.getItem(storageKey) || '';
  } catch {
    return '';
  }
}

export function forgetToken(storageKey) {
  try {
    sessionStorage.removeItem(storageKey);
  } catch {
    // nothing stored
  }
}

/// The `exp` of a JWT in milliseconds, or 0 when it cannot be read. Only for showing the
/// user when a link ends: the server is the one that checks the signature and the expiry.
export function tokenExpiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part));
    return typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/// A JSON call; throws ApiError with the problem's status and code.
export async function api(token, path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { ...options, headers, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network', String(err));
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) throw new ApiError(res.status, body && body.code, body && body.detail);
  return body;
}
