// sealpost portal: what every page needs. No third-party code.
// Trust: API answers come from our own server over TLS, but everything they carry that a
// person typed (names, form values, e-mail addresses) is put into the page as text only,
// never as markup: this file's el() and text() are the only ways the pages build DOM.
'use strict';

(function () {
  // The session's CSRF token, from GET /portal/api/session or the answer of sign-in,
  // second factor or enrol/start. Kept in memory only.
  let csrf = '';
  // The server's clock minus ours, from the Date header of its last answer (null: unknown).
  let serverClockOffsetMs = null;

  class ApiError extends Error {
    constructor(status, message, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  const kStatusMessages = {
    0: 'The server could not be reached. Check the network connection and try again.',
    400: 'The request was not accepted.',
    401: 'You are not signed in, or your session has ended.',
    403: 'You are not allowed to do this.',
    404: 'Not found.',
    409: 'This cannot be done in the current state.',
    413: 'That is too large.',
    422: 'The request was not accepted.',
    429: 'Too many attempts. Please wait and try again.',
  };

  function messageFor(status) {
    return kStatusMessages[status] || 'Something went wrong on the server. Please try again.';
  }

  async function send(method, path, body, accept) {
    const headers = { Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch {
      throw new ApiError(0, messageFor(0), null);
    }
    const serverDate = Date.parse(response.headers.get('Date') || '');
    if (Number.isFinite(serverDate)) serverClockOffsetMs = serverDate - Date.now();
    if (!response.ok) {
      let data = null;
      if ((response.headers.get('Content-Type') || '').startsWith('application/json')) {
        try {
          data = await response.json();
        } catch {
          data = null;
        }
      }
      const message = data && typeof data.error === 'string' && data.error ? data.error
                                                                           : messageFor(response.status);
      throw new ApiError(response.status, message, data);
    }
    return response;
  }

  // JSON in, JSON out. Returns null for 204. Picks up a new CSRF token from any answer
  // that carries one (the session id and its token rotate at every stage change).
  async function api(method, path, body) {
    const response = await send(method, path, body, 'application/json');
    if (response.status === 204) return null;
    let data;
    try {
      data = await response.json();
    } catch {
      throw new ApiError(response.status, 'The server sent an answer this page cannot read.', null);
    }
    if (data && typeof data === 'object' && typeof data.csrf === 'string') csrf = data.csrf;
    return data;
  }

  // For downloads that are not JSON (the audit export): the body as a Blob.
  async function apiBlob(path) {
    const response = await send('GET', path, undefined, '*/*');
    return response.blob();
  }

  // The server's time in ms since the epoch, as far as we know it (NaN when unknown).
  function serverNow() {
    return serverClockOffsetMs === null ? NaN : Date.now() + serverClockOffsetMs;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : '';
  }

  // Builds an element. attrs: plain attributes (never on*, never style, never innerHTML);
  // children: nodes or strings (strings become text nodes).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (/^on/i.test(name) || name === 'style') throw new Error(`refused attribute ${name}`);
      if (value === false || value === null || value === undefined) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function byId(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error(`page is missing #${id}`);
    return node;
  }

  // Shows `message` in a role=alert (or role=status) region, or clears it with ''.
  function say(region, message) {
    region.textContent = message || '';
  }

  function markInvalid(input, invalid) {
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  // The API gives times as unix seconds; accept ISO text too.
  function toDate(value) {
    if (typeof value === 'number') return new Date(value * 1000);
    if (typeof value === 'string' && value) return new Date(value);
    return null;
  }

  const kTimeFormat = new Intl.DateTimeFormat('en-GB', {
    year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', timeZoneName: 'short',
  });

  function formatTime(value) {
    const date = toDate(value);
    if (!date || Number.isNaN(date.getTime())) return typeof value === 'string' ? value : '';
    return kTimeFormat.format(date);
  }

  function formatSize(bytes) {
    if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '';
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  }

  // <input type=date> value (local calendar day) -> unix seconds: the start of that day, or
  // with endOfDay the start of the next day, since the API's `to` is exclusive ("until
  // 3 May" must include 23:59:59 on 3 May). '' -> undefined (no filter).
  function dateToUnix(value, endOfDay) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
    if (!match) return undefined;
    const day = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + (endOfDay ? 1 : 0));
    return Math.floor(day.getTime() / 1000);
  }

  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
  }

  // Offers `blob` as a file download, then lets the object URL go.
  function download(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60 * 1000);
  }

  function groupFingerprint(fpr) {
    return typeof fpr === 'string' ? fpr.replace(/(.{4})(?=.)/g, '$1 ') : '';
  }

  // The decryption worker, as request/answer promises.
  class PortalWorker {
    constructor() {
      this.worker = new Worker('/portal/static/worker.js');
      this.next = 1;
      this.pending = new Map();
      this.worker.addEventListener('message', (event) => {
        const { id, ok, result, error } = event.data || {};
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        if (ok) entry.resolve(result);
        else entry.reject(new Error(error || 'The operation failed.'));
      });
      this.worker.addEventListener('error', (event) => {
        event.preventDefault();
        this.failAll('The decryption component could not be started.');
      });
    }

    call(op, args) {
      const id = this.next++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.worker.postMessage({ id, op, args });
      });
    }

    failAll(message) {
      for (const entry of this.pending.values()) entry.reject(new Error(message));
      this.pending.clear();
    }

    // Ends the worker and with it every key it held.
    terminate() {
      this.worker.terminate();
      this.failAll('The key was locked.');
    }
  }

  window.Sealpost = Object.freeze({
    ApiError, api, apiBlob, serverNow, query, el, byId, say, markInvalid, formatTime, formatSize,
    dateToUnix, today, download, groupFingerprint, PortalWorker,
  });
})();
