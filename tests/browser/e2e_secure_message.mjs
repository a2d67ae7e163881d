// End to end: the secure-message portal (issue 9) in Debian's Chromium against the REAL
// sealpost binary (SEALPOST_BIN), with real peers on loopback: NSD serving the signed test
// zone (tests/support/dns.sh) with an MX for patient.sealpost.example at 127.0.0.93, and an
// aiosmtpd receiver there (tests/support/smtp_sink.py, Debian's python3), which offers no
// STARTTLS: the notices travel in clear, as they may in the world.
//
//  1. `mail send --security encrypt --phi` to an address with neither key nor certificate:
//     the notice arrives, with the link and nothing of the subject or the body;
//  2. the link in Chromium: "Send me a code" → the code arrives in a separate mail (without
//     the link) → entered, with a new password typed twice (the first message to this
//     address creates the recipient account; a mismatch is caught on the page) → the
//     subject and body shown as text (markup in them runs nothing); `mail show` reports
//     "read at"; the audit trail has secure_message.open and recipient.account_created;
//     a secure reply typed on the page reaches the sender (who has no key) as a portal
//     notice of its own, with nothing of the reply in it;
//  3. a second message: the page asks for the account's password (a wrong one is refused);
//     its link with a damaged key → wrong codes until the page says to wait (the portal's
//     lockout) → the right code and password → the ciphertext fails its GCM tag in the
//     browser: "damaged", nothing shown; a truncated key is refused before any request;
//  4. a third message revoked with `mail revoke`: the page says it is no longer available
//     (410), and so does the API;
// with the portal's CSP on the page, no CSP violation and no uncaught exception.
// Run: cd tests/browser && SEALPOST_BIN=../../build/asan/src/app/sealpost \
//        node --test --test-concurrency=1 e2e_secure_message.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PORTAL_CSP, launch, watch } from './lib.mjs';
import { REPO, Sealpost } from './sealpost.mjs';

const ZONE = 'sealpost.example';
const MX = '127.0.0.93';  // this test's own loopback address (grep tests/ before reusing it)
const PATIENT = `alex@patient.${ZONE}`;
const NURSE = `nurse@clinic.${ZONE}`;  // the sender; no key, so replies reach them by the portal
const PASSWORD = 'a long password for my messages';
const MARK = `zqxphi${Date.now().toString(36)}`;
const SUBJECT = `Your biopsy result ${MARK}`;
const PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const BODY = `Dear Alex,\nthe result ${MARK} is benign.\n${PAYLOAD}\n`;
const SYSTEM_PYTHON = '/usr/bin/python3';
const CI = process.env.CI === 'true';

function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Quoted-printable (RFC 2045) or base64 bodies of the single-part mails we send.
function decodedBody(raw) {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  if (/^Content-Transfer-Encoding:\s*base64/mi.test(head)) {
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (/^Content-Transfer-Encoding:\s*quoted-printable/mi.test(head)) {
    return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi,
                                               (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
  return body;
}

function tools() {
  const missing = [];
  if (!existsSync(SYSTEM_PYTHON)) missing.push('/usr/bin/python3');
  else {
    try {
      execFileSync(SYSTEM_PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'ignore' });
    } catch {
      missing.push('python3-aiosmtpd');
    }
  }
  if (!existsSync('/usr/sbin/nsd')) missing.push('nsd');
  return missing;
}

describe('secure-message portal in Chromium', { timeout: 600_000 }, () => {
  const missing = tools();
  const skip = missing.length && !CI ? `missing: ${missing.join(', ')}` : false;
  let sp; let sink; let record; let dnsDir; let browser; let context;
  const seenMail = new Set();

  // The next message the receiver got for `to` that we have not looked at yet.
  async function nextMail(to, timeoutMs = 90_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = existsSync(record) ? readFileSync(record, 'utf8').split('\n') : [];
      for (const line of lines) {
        if (!line.trim() || seenMail.has(line)) continue;
        const event = JSON.parse(line);
        if (event.event !== 'message' || !event.rcpt_tos.includes(to)) continue;
        seenMail.add(line);
        const raw = Buffer.from(event.data_b64, 'base64').toString('utf8');
        return { raw, body: decodedBody(raw), tls: event.tls };
      }
      if (Date.now() > deadline) throw new Error(`no mail for ${to}:\n${sp.log().slice(-3000)}`);
      await sleep(250);
    }
  }

  function send(subject, body) {
    const file = join(sp.root, `body-${Date.now()}.txt`);
    writeFileSync(file, body);
    return sp.cli(['mail', 'send', '--data', sp.data, '--to', PATIENT, '--from', NURSE,
                   '--subject', subject, '--body-file', file, '--security', 'encrypt',
                   '--phi']).trim();
  }

  async function notice(to = PATIENT) {
    const mail = await nextMail(to);
    const link = /https:\/\/\S+\/s\/([A-Za-z0-9_-]{43})#([A-Za-z0-9_-]{43})/.exec(mail.body);
    assert.ok(link, `a link in the notice:\n${mail.body}`);
    return { mail, link: link[0], copy: link[1], key: link[2] };
  }

  async function codeMail() {
    const mail = await nextMail(PATIENT);
    const code = /one-time code is: ([0-9]{8})/.exec(mail.body);
    assert.ok(code, `a code in:\n${mail.body}`);
    return { mail, code: code[1] };
  }

  before(async () => {
    if (skip) return;
    if (missing.length) throw new Error(`missing: ${missing.join(', ')}`);
    sp = new Sealpost();
    chmodSync(sp.root, 0o755);  // NSD (its own user) reads its zone under here
    const smtpPort = await freePort(MX);
    record = join(sp.root, 'sink.jsonl');
    sink = spawn(SYSTEM_PYTHON, [join(REPO, 'tests', 'support', 'smtp_sink.py'), '--record', record,
                                 '--host', MX, '--port', String(smtpPort), '--pipelining',
                                 '--enhanced'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const first = await new Promise((resolve) => {
      createInterface({ input: sink.stdout }).once('line', resolve);
    });
    assert.match(first, /^PORT /);
    const dkim = sp.cli(['dkim', 'init', '--data', sp.data, '--domain', ZONE, '--selector', 's2026']);
    const extra = join(sp.root, 'extra.zone');
    writeFileSync(extra, `patient MX 10 mxpatient\nclinic MX 10 mxpatient\nmxpatient A ${MX}\n` +
                  (dkim.match(/^\S+\. IN TXT .+$/gm) || []).join('\n') + '\n');
    dnsDir = join(sp.root, 'dns');
    execFileSync(join(REPO, 'tests', 'support', 'dns.sh'), ['start', dnsDir, extra],
                 { stdio: 'ignore' });
    const resolver = readFileSync(join(dnsDir, 'resolver'), 'utf8').trim();
    const httpsPort = await freePort('127.0.0.1');
    // Keys go under the tables `init` wrote (a table may not be declared twice).
    const configPath = join(sp.data, 'sealpost.toml');
    const config = readFileSync(configPath, 'utf8')
        .replace(/^\[server\]$/m, `[server]\npublic_origin = "https://localhost:${httpsPort}"`)
        .replace(/^\[mail\]$/m, ['[mail]', `hostname = "forms.${ZONE}"`,
                                  `default_sender = "forms@${ZONE}"`, 'dkim_selector = "s2026"',
                                  `resolver = "${resolver}"`,
                                  `trust_anchor_file = "${join(dnsDir, 'trust-anchor')}"`,
                                  `remote_port = ${smtpPort}`, 'secure_message_days = 7'].join('\n'));
    writeFileSync(configPath, config);
    await sp.start({ httpsListen: `127.0.0.1:${httpsPort}` });
    ({ browser, context } = await launch());
  });

  after(async () => {
    if (browser) await browser.close();
    if (sp) await sp.stop();
    if (sink && sink.exitCode === null) sink.kill('SIGTERM');
    if (dnsDir) execFileSync(join(REPO, 'tests', 'support', 'dns.sh'), ['stop', dnsDir]);
    if (sp) await sp.close();
  });

  // Chromium logs every 4xx answer as "Failed to load resource": the test provokes 401, 429
  // and 410 on purpose.
  const unexpected = (errors) => errors.filter((e) => !/^Failed to load resource/.test(e.text));

  test('a keyless recipient reads the message in the browser, as text', { skip }, async () => {
    const id = send(SUBJECT, BODY);
    assert.match(id, /^[0-9a-f]{32}$/);
    const { mail, link } = await notice();
    // PHI-free: nothing of the subject or body, in the raw mail or decoded.
    for (const text of [mail.raw, mail.body]) {
      assert.ok(!text.includes(MARK), 'the notice carries nothing of the message');
      assert.ok(!text.includes('biopsy'));
    }
    assert.ok(link.startsWith(sp.origin), link);

    const page = await context.newPage();
    const seen = await watch(page);
    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-security-policy'], PORTAL_CSP);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.locator('#sm-code').waitFor();
    const { mail: codeMessage, code } = await codeMail();
    assert.ok(!codeMessage.body.includes('/s/'), 'the code travels without the link');
    assert.ok(!codeMessage.raw.includes(MARK));
    // The first message to this address: a password is chosen, typed twice.
    assert.equal(await page.locator('#sm-password-field').isHidden(), true);
    await page.getByLabel('One-time code').fill(code);
    await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('New password again').fill(`${PASSWORD}x`);
    await page.getByRole('button', { name: 'Open the message' }).click();
    await page.locator('#sm-alert').filter({ hasText: 'not the same' }).waitFor();
    assert.equal(await page.getAttribute('#sm-new-password-again', 'aria-invalid'), 'true');
    await page.getByLabel('New password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Open the message' }).click();
    await page.locator('#sm-message').waitFor();
    assert.equal(await page.textContent('#sm-subject'), SUBJECT);
    assert.equal(await page.textContent('#sm-body'), BODY);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'the markup ran nothing');
    assert.equal(await page.locator('#sm-body img, #sm-body script').count(), 0);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.pageErrors, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);

    // A secure reply, typed on the page: it reaches the sender, who has no key, as a portal
    // notice of its own (nothing of the reply in it).
    const REPLY = `Thank you. Does ${MARK}-reply need a follow-up?`;
    await page.getByLabel('Your reply').fill(REPLY);
    await page.getByRole('button', { name: 'Send the reply' }).click();
    await page.locator('#sm-status').filter({ hasText: 'Your reply was sent' }).waitFor();
    assert.match(await page.textContent('#sm-reply-hint'), /4 more replies/);
    const replyNotice = await notice(NURSE);
    assert.ok(!replyNotice.mail.raw.includes(MARK), 'the reply travels sealed');
    assert.ok(!replyNotice.mail.raw.includes(PATIENT), 'the patient is not named outside');
    await page.close();
    assert.ok(sp.auditActions().some((a) => a.startsWith(`secure_message.reply|message:${id} `)));
    assert.ok(sp.auditActions().some((a) => a.startsWith('recipient.account_created|recipient:')));

    // The same code a second time: used.
    const again = await sp.fetchRaw('POST', `/api/s/${link.split('/s/')[1].split('#')[0]}/open`, {
      body: JSON.stringify({ code }),
      headers: { 'Content-Type': 'application/json', Origin: sp.origin },
    });
    assert.equal(again.status, 401);

    const shown = sp.cli(['mail', 'show', '--data', sp.data, id]);
    assert.match(shown, new RegExp(`^portal ${PATIENT}: read at \\d{4}-`, 'm'));
    const actions = sp.auditActions();
    assert.ok(actions.some((a) => a.startsWith(`secure_message.deposit|message:${id} `)), actions.join('\n'));
    assert.ok(actions.some((a) => a.startsWith(`secure_message.open|message:${id} `) && a.endsWith('first:yes')));
  });

  test('a damaged key fails in the browser; wrong codes lock out', { skip }, async () => {
    send('Second', `second ${MARK}`);
    const { copy, key } = await notice();
    const flipped = (key[0] === 'A' ? 'B' : 'A') + key.slice(1);
    const page = await context.newPage();
    const seen = await watch(page);

    // Truncated: refused at once, nothing asked of the server.
    await page.goto(`${sp.origin}/s/${copy}#${key.slice(0, 30)}`);
    await page.getByText('This link is damaged').waitFor();
    assert.equal(await page.locator('#sm-request').isHidden(), true);

    // A new document (a change of fragment alone would not load the page again).
    await page.goto('about:blank');
    await page.goto(`${sp.origin}/s/${copy}#${flipped}`);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.locator('#sm-code').waitFor();
    const { code } = await codeMail();
    const wrong = code === '00000000' ? '11111111' : '00000000';
    let waited = false;
    // The account exists now: the page asks for its password with the code.
    await page.getByLabel('Your password for secure messages').fill(PASSWORD);
    for (let i = 0; i < 8 && !waited; i++) {
      await page.fill('#sm-code', wrong);
      await page.getByRole('button', { name: 'Open the message' }).click();
      const alert = page.locator('#sm-alert');
      await alert.filter({ hasText: /not right|Too many attempts/ }).waitFor();
      waited = /Too many attempts/.test(await alert.textContent());
      if (!waited) await page.evaluate(() => { document.getElementById('sm-alert').textContent = ''; });
    }
    assert.ok(waited, 'wrong codes end in a wait');
    // While locked, even the right code waits.
    const locked = await sp.fetchRaw('POST', `/api/s/${copy}/open`, {
      body: JSON.stringify({ code }), headers: { 'Content-Type': 'application/json', Origin: sp.origin },
    });
    assert.equal(locked.status, 429);
    const wait = Number(locked.headers['retry-after']);
    assert.ok(wait >= 1, `Retry-After ${locked.headers['retry-after']}`);
    await sleep((wait + 1) * 1000);
    // The second message to this address: the account's password, not a new one.
    assert.equal(await page.locator('#sm-new-password-field').isHidden(), true);
    await page.fill('#sm-code', code);
    await page.getByLabel('Your password for secure messages').fill('not my password at all');
    await page.getByRole('button', { name: 'Open the message' }).click();
    await page.locator('#sm-alert').filter({ hasText: 'password is not right' }).waitFor();
    await page.getByLabel('Your password for secure messages').fill(PASSWORD);
    await page.getByRole('button', { name: 'Open the message' }).click();
    await page.getByText('This link is damaged').waitFor();
    assert.equal(await page.locator('#sm-message').isHidden(), true);
    assert.equal(await page.textContent('#sm-body'), '');
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.pageErrors, []);
    await page.close();
    assert.ok(sp.auditActions().some((a) => a.startsWith('secure_message.code|copy:')));
  });

  test('a revoked message answers 410', { skip }, async () => {
    const id = send('Third', `third ${MARK}`);
    const { link, copy } = await notice();
    const out = sp.cli(['mail', 'revoke', '--data', sp.data, id]);
    assert.match(out, /^revoked 1 unread portal copy/m);
    const page = await context.newPage();
    const seen = await watch(page);
    await page.goto(link);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByText('no longer available').first().waitFor();
    assert.equal(await page.textContent('#heading'), 'Message no longer available');
    assert.deepEqual(seen.cspViolations, []);
    await page.close();
    const api = await sp.fetchRaw('POST', `/api/s/${copy}/open`, {
      body: JSON.stringify({ code: '12345678' }),
      headers: { 'Content-Type': 'application/json', Origin: sp.origin },
    });
    assert.equal(api.status, 410);
    assert.match(sp.cli(['mail', 'show', '--data', sp.data, id]), /^portal \S+: revoked at /m);
    assert.ok(sp.auditActions().some((a) => a === `secure_message.revoke|message:${id} copies:1`));
  });
});
