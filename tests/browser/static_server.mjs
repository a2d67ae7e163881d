// A throw-away HTTPS server on 127.0.0.1:0 that serves the portal's front end the way the
// sealpost binary does, without the backend: web/portal/pages/*.html at /portal/,
// /portal/sign-in and /portal/enrol (every @SRI:X@ placeholder replaced by the sha384 of
// the file served for X), web/portal/static/* and openpgp.min.js at /portal/static/, and
// test fixtures at /smoke/. Every response carries the portal CSP. /portal/api/* answers
// from `api({method, path, params, body, headers})` if given — an answer is
// {status, json} or {status, raw, type}, plus optional headers — else 401.
// Trust: test-only; serves files from this repository to a local browser.
import { createServer } from 'node:https';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PORTAL_CSP, selfSignedCert, sri } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');
const PORTAL = join(REPO, 'web', 'portal');
export const OPENPGP_FILE = join(PORTAL, 'node_modules', 'openpgp', 'dist', 'openpgp.min.js');

const TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

function typeOf(name) {
  return TYPES[name.slice(name.lastIndexOf('.'))] || 'application/octet-stream';
}

// name -> bytes, for /portal/static/ and /smoke/.
function loadFiles() {
  const staticFiles = new Map();
  for (const name of readdirSync(join(PORTAL, 'static'))) {
    staticFiles.set(name, readFileSync(join(PORTAL, 'static', name)));
  }
  staticFiles.set('openpgp.min.js', readFileSync(OPENPGP_FILE));
  const fixtures = new Map();
  for (const name of readdirSync(join(here, 'fixtures'))) {
    fixtures.set(name, readFileSync(join(here, 'fixtures', name)));
  }
  return { staticFiles, fixtures };
}

// Replaces @SRI:name@ with the integrity of the file of that name; unknown names throw, as
// the build does.
function withIntegrity(html, files) {
  return html.replace(/@SRI:([^@"\s]+)@/g, (_, name) => {
    const bytes = files.get(name);
    if (!bytes) throw new Error(`no file for placeholder @SRI:${name}@`);
    return sri(bytes);
  });
}

export async function startStaticPortal({ api } = {}) {
  const { staticFiles, fixtures } = loadFiles();
  const integrityFiles = new Map([...staticFiles, ...fixtures]);
  const pages = new Map();
  for (const [route, file] of [['/portal/', 'app'], ['/portal/sign-in', 'sign-in'],
    ['/portal/enrol', 'enrol']]) {
    const html = readFileSync(join(PORTAL, 'pages', `${file}.html`), 'utf8');
    pages.set(route, Buffer.from(withIntegrity(html, integrityFiles)));
  }
  const cert = selfSignedCert();
  const requests = [];

  const server = createServer({ key: cert.key, cert: cert.cert }, async (req, res) => {
    const url = new URL(req.url, 'https://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, {
        'Content-Type': type,
        'Content-Security-Policy': PORTAL_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
        ...extra,
      });
      res.end(body);
    };
    try {
      if (url.pathname.startsWith('/portal/api/')) {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = undefined;  // not JSON: the handler decides
        }
        const answer = api
          ? await api({ method: req.method, path: url.pathname, params: url.searchParams, body,
                        headers: req.headers })
          : null;
        const { status = 401, json = { error: 'You are not signed in.' }, raw, type, headers = {} } =
          answer || {};
        if (raw !== undefined) send(status, type, raw, headers);
        else if (status === 204) send(204, 'application/json', '', headers);
        else send(status, 'application/json', JSON.stringify(json), headers);
        return;
      }
      if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
      if (pages.has(url.pathname)) return send(200, TYPES['.html'], pages.get(url.pathname));
      const staticMatch = /^\/portal\/static\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
      if (staticMatch && staticFiles.has(staticMatch[1])) {
        return send(200, typeOf(staticMatch[1]), staticFiles.get(staticMatch[1]));
      }
      const fixtureMatch = /^\/smoke\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
      if (fixtureMatch && fixtures.has(fixtureMatch[1])) {
        const name = fixtureMatch[1];
        const body = name.endsWith('.html')
          ? Buffer.from(withIntegrity(fixtures.get(name).toString('utf8'), integrityFiles))
          : fixtures.get(name);
        return send(200, typeOf(name), body);
      }
      send(404, 'text/plain', 'not found');
    } catch (error) {
      send(500, 'text/plain', String(error && error.message));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `https://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      cert.cleanup();
    },
  };
}
