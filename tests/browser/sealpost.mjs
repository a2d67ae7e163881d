// The real sealpost server for the browser tests, as tests/lib/harness.py starts it: a
// temporary data directory (`sealpost init`), a recipient key made by the real gpg and
// imported with `key import`, the example intake form added with `form add`, and
// `serve` on 127.0.0.1 port 0. The browser's origin is https://localhost:PORT (what the
// server takes as its public origin). The database is read and changed with the sqlite3
// CLI, the way an operator (or an attacker with file access) would.
// Trust: test-only; runs the binary named by SEALPOST_BIN and gpg/sqlite3 on temp files.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Agent, request } from 'node:https';
import { totp } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');

export function sealpostBinary() {
  const path = process.env.SEALPOST_BIN;
  if (!path || !existsSync(path)) {
    throw new Error('set SEALPOST_BIN to the sealpost binary (ctest does); for example ' +
                    'SEALPOST_BIN=build/release/src/app/sealpost');
  }
  return path;
}

// Runs a command; on failure throws with its stderr, so the test output says what broke.
function run(file, args, { env, input } = {}) {
  try {
    return execFileSync(file, args, {
      env: env || process.env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = error.stderr ? String(error.stderr).trim() : '';
    throw new Error(`${file} ${args.join(' ')} failed (${error.status}): ${stderr}`);
  }
}

// A throw-away GnuPG home (empty passphrase, as harness.Gpg).
export class Gpg {
  constructor(root, name = 'gnupg') {
    this.home = join(root, name);
    mkdirSync(this.home, { mode: 0o700 });
    this.env = { ...process.env, GNUPGHOME: this.home };
  }

  gpg(args, input) {
    return run('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '',
                       ...args], { env: this.env, input });
  }

  newKey(uid) {
    this.gpg(['--quick-gen-key', uid, 'future-default', 'default', 'never']);
    const out = this.gpg(['--list-keys', '--with-colons', uid]);
    return /^fpr:+([0-9A-F]{40}):/m.exec(out)[1];
  }

  // Decrypts and verifies `bytes` (a binary OpenPGP message): {ok, plaintext, status}, the
  // status being gpg's --status-fd lines (VALIDSIG <fingerprint> ... when signed).
  decrypt(bytes) {
    const proc = spawnSync('gpg', ['--batch', '--status-fd', '2', '--decrypt'], {
      env: this.env, input: bytes, maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: proc.status === 0, plaintext: proc.stdout.toString('utf8'),
             status: proc.stderr.toString('utf8') };
  }

  close() {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: this.env, stdio: 'ignore' });
    } catch {
      // gpg-agent was never started: nothing to stop.
    }
  }
}

// SQL as text for the sqlite3 CLI.
export function sqlText(value) {
  return `'${String(value).replace(/'/g, "''")}'`;
}

export class Sealpost {
  // configText replaces the sealpost.toml that `init` writes (all comments), as harness.py.
  constructor({ configText = '' } = {}) {
    this.bin = sealpostBinary();
    this.root = mkdtempSync(join(tmpdir(), 'sealpost-e2e-'));
    this.data = join(this.root, 'data');
    this.dbPath = join(this.data, 'sealpost.db');
    this.gpg = new Gpg(this.root);
    this.proc = null;
    this.cli(['init', '--data', this.data]);
    if (configText) writeFileSync(join(this.data, 'sealpost.toml'), `${configText}\n`);
    // The form's declared recipient: a key made by gpg, imported as an operator would.
    this.recipientFpr = this.gpg.newKey('Clinic Records <records@example.org>');
    const keyFile = join(this.root, 'recipient.asc');
    writeFileSync(keyFile, this.gpg.gpg(['--armor', '--export', this.recipientFpr]));
    this.cli(['key', 'import', '--data', this.data, keyFile]);
    // The server's signing key, so gpg can verify what the server signed.
    const serverKey = join(this.data, 'server-signing-key.asc');
    this.gpg.gpg(['--import', serverKey]);
    const shown = this.gpg.gpg(['--with-colons', '--show-keys', serverKey]);
    this.serverFpr = /^fpr:+([0-9A-F]{40}):/m.exec(shown)[1];
    const form = readFileSync(join(REPO, 'examples', 'intake.toml'), 'utf8')
        .replaceAll('@DEMO_RECIPIENT_FINGERPRINT@', this.recipientFpr);
    const formFile = join(this.root, 'intake.toml');
    writeFileSync(formFile, form);
    this.cli(['form', 'add', '--data', this.data, formFile]);
  }

  cli(args) {
    return run(this.bin, args);
  }

  // `sealpost user add`: the enrolment link it prints, pointed at the running server.
  addUser(email, roles) {
    const out = this.cli(['user', 'add', '--data', this.data, '--email', email,
                          ...roles.flatMap((r) => ['--role', r])]);
    const match = /https:\/\/\S+(\/portal\/enrol#t=[A-Za-z0-9_-]+)/.exec(out);
    if (!match) throw new Error(`no enrolment link in: ${out}`);
    return { printed: match[0], link: `${this.origin}${match[1]}` };
  }

  // Starts `serve`; resolves when it has printed its HTTPS port. `httpsListen`: a fixed
  // address (a test whose [server] public_origin must name the port beforehand).
  async start({ httpsListen = '127.0.0.1:0' } = {}) {
    this.stderrPath = join(this.root, 'serve.err');
    this.stderr = [];
    this.proc = spawn(this.bin, ['serve', '--data', this.data, '--https-listen', httpsListen,
                                 '--http-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (chunk) => this.stderr.push(chunk));
    // Never outlive the test process, however it ends (a thrown error, ctest's time-out
    // sending SIGTERM): a server left running would hold its port and temp directory.
    const proc = this.proc;
    const killServer = () => proc.kill('SIGKILL');
    process.once('exit', killServer);
    proc.once('exit', () => process.off('exit', killServer));
    for (const signal of ['SIGTERM', 'SIGINT']) {
      if (process.listenerCount(signal) === 0) {
        process.once(signal, () => process.exit(128 + (signal === 'SIGTERM' ? 15 : 2)));
      }
    }
    const exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    const lines = createInterface({ input: this.proc.stdout });
    const port = await Promise.race([
      new Promise((resolve) => {
        lines.on('line', (line) => {
          const match = /^listening https [^ ]+:(\d+)/.exec(line);
          if (match) resolve(Number(match[1]));
        });
      }),
      exited.then(({ code, signal }) => {
        throw new Error(`sealpost serve exited (${code ?? signal}) before listening:\n${this.log()}`);
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('sealpost serve did not print its port in 60 s')), 60_000).unref()),
    ]);
    this.port = port;
    this.origin = `https://localhost:${port}`;
    return this;
  }

  // One HTTPS request to the server (its self-signed certificate accepted): {status,
  // headers, body}.
  fetchRaw(method, path, { body, headers = {}, agent } = {}) {
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: this.port, method, path, agent, rejectUnauthorized: false,
        servername: 'localhost', headers: { Host: `localhost:${this.port}`, ...headers },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                      body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.end(body);
    });
  }

  // Sends `count` intake forms the way a browser does (GET the form for its token, POST it
  // urlencoded), fieldsFor(i) giving each one's [name, value] pairs. Returns the references.
  async submitMany(count, fieldsFor) {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const references = [];
    try {
      for (let i = 0; i < count; i++) {
        const page = await this.fetchRaw('GET', '/f/intake', { agent });
        const token = /name="_token" value="([^"]+)"/.exec(page.body);
        if (page.status !== 200 || !token) throw new Error(`GET /f/intake: ${page.status}`);
        const body = new URLSearchParams([['_token', token[1]], ['_website', ''], ...fieldsFor(i)]).toString();
        const posted = await this.fetchRaw('POST', '/f/intake', {
          agent, body,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
        });
        const location = /\/f\/intake\/thanks\/([0-9A-Z-]+)$/.exec(posted.headers.location || '');
        if (posted.status !== 303 || !location) {
          throw new Error(`POST /f/intake #${i}: ${posted.status} ${posted.body.slice(0, 300)}`);
        }
        references.push(location[1]);
      }
    } finally {
      agent.destroy();
    }
    return references;
  }

  log() {
    return Buffer.concat(this.stderr || []).toString('utf8');
  }

  // Resolves when the server logs a line matching `pattern` after log offset `since`
  // (a length of log() taken before the action that should cause it).
  async waitForLog(pattern, since, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.log().slice(since).split('\n').find((l) => pattern.test(l));
      if (line) return line;
      if (Date.now() > deadline) {
        throw new Error(`the server did not log ${pattern} in ${timeoutMs} ms:\n${this.log().slice(since)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  // Runs SQL with the sqlite3 CLI (the server keeps the database open: wait for its locks).
  // Returns the output lines (-list mode, '|' between columns).
  sql(statements) {
    const out = run('sqlite3', ['-batch', '-bail', this.dbPath], {
      input: `.timeout 10000\n${statements}\n`,
    });
    return out.split('\n').filter((line) => line !== '');
  }

  // The ciphertext of a submission, as bytes.
  ciphertext(reference) {
    const [hex] = this.sql(`SELECT hex(ciphertext) FROM submissions WHERE reference = ${sqlText(reference)};`);
    if (!hex) throw new Error(`no submission ${reference}`);
    return Buffer.from(hex, 'hex');
  }

  setCiphertext(reference, bytes) {
    this.sql(`UPDATE submissions SET ciphertext = X'${bytes.toString('hex')}' ` +
             `WHERE reference = ${sqlText(reference)};`);
  }

  auditActions() {
    return this.sql('SELECT action || \'|\' || object FROM audit ORDER BY seq;');
  }

  async stop() {
    if (!this.proc) return;
    const proc = this.proc;
    this.proc = null;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    this.exitStatus = code ?? signal;
  }

  async close() {
    await this.stop();
    this.gpg.close();
    if (!process.env.SEALPOST_KEEP_TMP) rmSync(this.root, { recursive: true, force: true });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A TOTP code for a time step not used yet for this user (the server accepts each step
// once, and only steps after the last one used, at most one step ahead of now): the
// earliest such step, waiting for the clock when now+1 is spent. As tests/lib/portal.py.
export async function freshTotp(secret, used) {
  for (;;) {
    const nowSeconds = Date.now() / 1000;
    if (nowSeconds % 30 > 28.5) {  // about to change step: let it, then count
      await sleep(1600);
      continue;
    }
    const nowStep = Math.floor(nowSeconds / 30);
    const last = used.size ? Math.max(...used) : nowStep - 1;
    const step = Math.max(last + 1, nowStep);
    if (step <= nowStep + 1) {
      used.add(step);
      return totp(secret, step * 30);
    }
    await sleep((30 - (nowSeconds % 30)) * 1000 + 200);
  }
}
