// An in-memory stand-in for the portal API of docs/PORTAL.md, for testing the front end's
// flows before the C++ backend exists. It enforces what the front end must get right: the
// session cookie, X-CSRF-Token on every request but the three exempt ones, Origin on every
// non-GET, stage rules, one-time tokens and TOTP steps, and the key checks of enrol/key.
// Its submissions are real OpenPGP messages: signed by a server key and encrypted to the
// user's uploaded key with openpgp.js (as the server does with RNP; the interop of the two
// is checked separately).
// Trust: test-only.
import { randomBytes } from 'node:crypto';
import * as openpgp from '../../web/portal/node_modules/openpgp/dist/node/openpgp.mjs';
import { totp } from './lib.mjs';

const COOKIE = '__Host-sealpost-session';
// docs/PORTAL.md lists the first three. GET enrol/totp.svg must be exempt too: it is loaded
// by an <img>, which cannot send a header (reported as a contract problem).
const EXEMPT = new Set([
  'GET /portal/api/session', 'POST /portal/api/sign-in', 'POST /portal/api/enrol/start',
  'GET /portal/api/enrol/totp.svg',
]);
const GRANT_NOTE = 'Submissions received before this change stay readable only by their ' +
  'earlier recipients.';

function base32(bytes) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

const token = () => randomBytes(32).toString('base64url');
const error = (status, message) => ({ status, json: { error: message } });

export async function createFakeBackend() {
  const server = await openpgp.generateKey({
    type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'sealpost', email: 'server@example.org' }],
    format: 'object',
  });
  const b = {
    origin: '',  // set by the test once the server listens
    serverKey: server,
    serverFingerprint: server.publicKey.getFingerprint().toUpperCase(),
    users: [],
    tokens: new Map(),    // enrolment token -> user id
    sessions: new Map(),  // id -> {userId, stage, csrf}
    forms: [{ id: 'intake', title: 'Patient intake', version: 2 }],
    submissions: [],      // {seq, form, reference, received_at, form_version, ciphertext, size}
    audit: [],
    rejected: [],         // "METHOD path: why" for every 403 on CSRF/Origin
    requests: [],
    nextSeq: 1,
  };

  b.addUser = (email, roles) => {
    const user = {
      id: b.users.length + 1, email, roles, status: 'invited', password: null, totpSecret: null,
      totpConfirmed: false, lastStep: 0, recovery: [], publicKey: null, privateKey: null,
      fingerprint: null, grants: [],
    };
    b.users.push(user);
    const t = token();
    b.tokens.set(t, user.id);
    return { user, token: t };
  };

  // Encrypts each document to `user`'s key, signed by the server key. `tamper` flips a byte.
  b.addSubmission = async (user, document, { tamper = false, receivedAt } = {}) => {
    const encryptionKeys = await openpgp.readKey({ armoredKey: user.publicKey });
    const bytes = await openpgp.encrypt({
      message: await openpgp.createMessage({ text: JSON.stringify(document) }),
      encryptionKeys, signingKeys: server.privateKey, format: 'binary',
    });
    if (tamper) bytes[bytes.length - 30] ^= 0x20;
    const seq = b.nextSeq++;
    b.submissions.push({
      seq, form: document.attestation.form_id, reference: document.attestation.reference,
      received_at: receivedAt ?? 1795456800 + seq * 60, form_version: document.attestation.form_version,
      ciphertext: Buffer.from(bytes).toString('base64'), size: bytes.length,
    });
  };

  function audit(actor, action, object, outcome = 'ok') {
    b.audit.push({
      seq: b.audit.length + 1, time: 1795456800 + b.audit.length, actor, action, object,
      source: '127.0.0.1', outcome,
    });
  }

  function newSession(userId, stage) {
    const id = token();
    const session = { userId, stage, csrf: token() };
    b.sessions.set(id, session);
    return { id, session, cookie: `${COOKIE}=${id}; Secure; HttpOnly; SameSite=Strict; Path=/` };
  }

  function sessionOf(headers) {
    const cookies = String(headers.cookie || '').split(/;\s*/);
    for (const c of cookies) {
      const [name, value] = c.split('=');
      if (name === COOKIE && b.sessions.has(value)) return { id: value, session: b.sessions.get(value) };
    }
    return null;
  }

  function page(items, params, project) {
    const after = params.get('after');
    const limit = Math.min(Number(params.get('limit') || 100), 500);
    const rest = items.filter((i) => after === null || i.seq > Number(after));
    const chosen = rest.slice(0, limit);
    return {
      items: chosen.map(project),
      next_after: rest.length > chosen.length ? chosen[chosen.length - 1].seq : null,
    };
  }

  function inRange(value, params) {
    const from = params.get('from');
    const to = params.get('to');
    return (from === null || value >= Number(from)) && (to === null || value <= Number(to));
  }

  b.api = async ({ method, path, params, body, headers }) => {
    const route = `${method} ${path}`;
    b.requests.push(route);
    const found = sessionOf(headers);
    const session = found && found.session;
    const user = session && b.users.find((u) => u.id === session.userId);

    if (!EXEMPT.has(route)) {
      if (!session) return error(401, 'You are not signed in.');
      if (headers['x-csrf-token'] !== session.csrf) {
        b.rejected.push(`${route}: X-CSRF-Token`);
        return error(403, 'This request was refused. Reload the page.');
      }
    }
    if (method !== 'GET' && headers.origin !== b.origin) {
      b.rejected.push(`${route}: Origin ${headers.origin}`);
      return error(403, 'This request was refused. Reload the page.');
    }
    const full = session && session.stage === 'full' && user && user.status === 'active';
    const enrolling = session && session.stage === 'enrolling';
    const json = (value, extra) => ({ status: 200, json: value, ...extra });

    switch (route) {
      case 'GET /portal/api/session':
        if (!session) return error(401, 'You are not signed in.');
        return json({
          email: user.email, roles: user.roles, stage: session.stage, csrf: session.csrf,
          idle_timeout_seconds: 900, expires_at: Math.floor(Date.now() / 1000) + 43200,
        });
      case 'POST /portal/api/enrol/start': {
        const userId = b.tokens.get(body && body.token);
        if (!userId) return error(400, 'This enrolment link is not valid. Ask for a new one.');
        b.tokens.delete(body.token);
        const s = newSession(userId, 'enrolling');
        const u = b.users.find((x) => x.id === userId);
        return json({ email: u.email, csrf: s.session.csrf }, { headers: { 'Set-Cookie': s.cookie } });
      }
      case 'POST /portal/api/enrol/password':
        if (!enrolling) return error(403, 'Not allowed.');
        if (typeof body.password !== 'string' || body.password.length < 12) {
          return error(422, 'The password is too short: use at least 12 characters.');
        }
        user.password = body.password;
        return { status: 204 };
      case 'POST /portal/api/enrol/totp':
        if (!enrolling || !user.password || user.totpConfirmed) return error(403, 'Not allowed.');
        user.totpSecret = base32(randomBytes(20));
        return json({
          otpauth_uri: `otpauth://totp/sealpost:${encodeURIComponent(user.email)}?secret=${user.totpSecret}&issuer=sealpost`,
          secret: user.totpSecret,
        });
      case 'GET /portal/api/enrol/totp.svg':
        if (!enrolling || !user.totpSecret) return error(403, 'Not allowed.');
        return {
          status: 200, type: 'image/svg+xml',
          raw: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>',
        };
      case 'POST /portal/api/enrol/totp/confirm': {
        if (!enrolling || !user.totpSecret) return error(403, 'Not allowed.');
        const step = Math.floor(Date.now() / 1000 / 30);
        const matched = [step - 1, step, step + 1].find((s) => totp(user.totpSecret, s * 30) === body.code);
        if (matched === undefined) {
          return error(422, 'That code is not right. Check the time on your phone and try again.');
        }
        user.totpConfirmed = true;
        user.lastStep = matched;  // a code works once
        user.recovery = Array.from({ length: 10 }, () => randomBytes(5).toString('hex'));
        return json({ recovery_codes: user.recovery });
      }
      case 'POST /portal/api/enrol/key': {
        if (!enrolling || !user.totpConfirmed) return error(403, 'Not allowed.');
        let key;
        try {
          key = await openpgp.readKey({ armoredKey: body.public_key });
        } catch {
          return error(422, 'This is not an OpenPGP public key.');
        }
        if (key.isPrivate()) return error(422, 'Upload only the public key here.');
        if (body.private_key !== null) {
          const priv = await openpgp.readPrivateKey({ armoredKey: body.private_key });
          if (priv.isDecrypted()) return error(422, 'The private key must be protected by a passphrase.');
          if (priv.getFingerprint() !== key.getFingerprint()) return error(422, 'The keys do not match.');
        }
        user.publicKey = body.public_key;
        user.privateKey = body.private_key;
        user.fingerprint = key.getFingerprint().toUpperCase();
        user.status = 'active';
        b.sessions.delete(found.id);
        const s = newSession(user.id, 'full');
        audit(user.email, 'user.enrolled', `user:${user.id}`);
        return json({ fingerprint: user.fingerprint }, { headers: { 'Set-Cookie': s.cookie } });
      }
      case 'POST /portal/api/sign-in': {
        const u = b.users.find((x) => x.email === (body && body.email));
        if (!u || u.status !== 'active' || u.password !== body.password) {
          return error(401, 'The e-mail address or password is wrong.');
        }
        const s = newSession(u.id, 'second_factor');
        return json({ stage: 'second_factor', csrf: s.session.csrf }, { headers: { 'Set-Cookie': s.cookie } });
      }
      case 'POST /portal/api/sign-in/second-factor': {
        if (!session || session.stage !== 'second_factor') return error(401, 'Please sign in again.');
        let ok = false;
        if (typeof body.code === 'string') {
          const step = Math.floor(Date.now() / 1000 / 30);
          for (const s of [step - 1, step, step + 1]) {
            if (s > user.lastStep && totp(user.totpSecret, s * 30) === body.code) {
              user.lastStep = s;
              ok = true;
            }
          }
        } else if (typeof body.recovery_code === 'string' && user.recovery.includes(body.recovery_code)) {
          user.recovery = user.recovery.filter((c) => c !== body.recovery_code);
          ok = true;
        }
        if (!ok) return error(401, 'That code is not right, or it was used already.');
        b.sessions.delete(found.id);
        const s = newSession(user.id, 'full');
        audit(user.email, 'session.signed_in', `user:${user.id}`);
        return json({ csrf: s.session.csrf }, { headers: { 'Set-Cookie': s.cookie } });
      }
      case 'POST /portal/api/sign-out':
        b.sessions.delete(found.id);
        return { status: 204, headers: { 'Set-Cookie': `${COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` } };
      case 'POST /portal/api/sign-out-everywhere':
        if (!full) return error(403, 'Not allowed.');
        for (const [id, s] of b.sessions) if (s.userId === user.id) b.sessions.delete(id);
        return { status: 204 };
      default:
        break;
    }

    if (!full) return error(session && session.stage !== 'full' ? 403 : 401, 'Please sign in.');
    const isAdmin = user.roles.includes('admin');

    if (route === 'GET /portal/api/me/key') {
      return json({ fingerprint: user.fingerprint, public_key: user.publicKey, private_key: user.privateKey });
    }
    if (route === 'GET /portal/api/server-key') {
      return json({ fingerprint: b.serverFingerprint, public_key: server.publicKey.armor() });
    }
    if (route === 'GET /portal/api/forms') {
      return json(b.forms.filter((f) => isAdmin || user.grants.includes(f.id)).map((f) => ({
        id: f.id, title: f.title, version: f.version, readable: user.grants.includes(f.id),
        submissions: b.submissions.filter((s) => s.form === f.id).length,
      })));
    }
    let m = /^\/portal\/api\/forms\/([^/]+)\/(submissions|export)(?:\/([^/]+))?$/.exec(path);
    if (m && method === 'GET') {
      const formId = decodeURIComponent(m[1]);
      if (!b.forms.some((f) => f.id === formId)) return error(404, 'Not found.');
      if (!user.grants.includes(formId)) return error(403, 'You have no access to this form.');
      const mine = b.submissions.filter((s) => s.form === formId && inRange(s.received_at, params));
      if (m[2] === 'submissions' && m[3]) {
        const s = mine.find((x) => x.reference === decodeURIComponent(m[3]));
        if (!s) return error(404, 'Not found.');
        audit(user.email, 'submission.view', `submission:${s.reference}`);
        return json({ reference: s.reference, received_at: s.received_at, form_version: s.form_version, ciphertext: s.ciphertext });
      }
      if (m[2] === 'submissions') {
        const reference = params.get('reference');
        const list = mine.filter((s) => !reference || s.reference === reference);
        audit(user.email, 'submission.search', `form:${formId}`);
        return json(page(list, params, (s) => ({
          seq: s.seq, reference: s.reference, received_at: s.received_at, size: s.size, form_version: s.form_version,
        })));
      }
      const answer = page(mine, params, (s) => ({
        seq: s.seq, reference: s.reference, received_at: s.received_at, form_version: s.form_version, ciphertext: s.ciphertext,
      }));
      audit(user.email, 'submission.export', `form:${formId}`);
      return json(answer);
    }

    if (path.startsWith('/portal/api/users')) {
      if (!isAdmin) return error(403, 'You are not allowed to do this.');
      if (route === 'GET /portal/api/users') {
        return json(b.users.map((u) => ({
          id: u.id, email: u.email, roles: u.roles, status: u.status, key_fingerprint: u.fingerprint, grants: u.grants,
        })));
      }
      if (route === 'POST /portal/api/users') {
        const { user: added, token: t } = b.addUser(body.email, body.roles);
        return json({ id: added.id, enrolment_link: `${b.origin}/portal/enrol#t=${t}` });
      }
      m = /^\/portal\/api\/users\/(\d+)\/(roles|disable|grants)(?:\/([^/]+)\/revoke)?$/.exec(path);
      const target = m && b.users.find((u) => u.id === Number(m[1]));
      if (!target || method !== 'POST') return error(404, 'Not found.');
      if (m[2] === 'roles') {
        target.roles = body.roles;
        return { status: 204 };
      }
      if (m[2] === 'disable') {
        target.status = 'disabled';
        return { status: 204 };
      }
      const form = b.forms.find((f) => f.id === (m[3] ? decodeURIComponent(m[3]) : body.form_id));
      if (!form) return error(404, 'Not found.');
      if (m[3]) {
        target.grants = target.grants.filter((g) => g !== form.id);
        form.version += 1;
        return json({ form_version: form.version });
      }
      if (!target.publicKey) return error(409, 'This person has no key yet: they must finish enrolling first.');
      if (!target.grants.includes(form.id)) target.grants.push(form.id);
      form.version += 1;
      return json({ form_version: form.version, note: GRANT_NOTE });
    }

    if (path.startsWith('/portal/api/audit')) {
      if (!user.roles.includes('admin') && !user.roles.includes('auditor')) return error(403, 'Not allowed.');
      if (route === 'GET /portal/api/audit') {
        const actor = params.get('actor');
        const list = b.audit.filter((e) => !actor || e.actor === actor);
        return json(page(list, params, (e) => e));
      }
      if (route === 'GET /portal/api/audit/export') {
        return { status: 200, type: 'application/x-ndjson', raw: b.audit.map((e) => `${JSON.stringify(e)}\n`).join('') };
      }
      if (route === 'GET /portal/api/audit/verify') {
        return json({ intact: true, entries: b.audit.length, checkpoints: 1, problem: '' });
      }
    }
    return error(404, 'Not found.');
  };

  return b;
}
