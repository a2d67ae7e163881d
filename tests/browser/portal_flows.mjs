// The portal's flows in Chromium, against fake_backend.mjs (an in-memory stand-in for the
// API of docs/PORTAL.md) under the real portal CSP: enrolment (password, TOTP, recovery
// codes, key made in the worker), sign-in with TOTP and with a recovery code, unlocking,
// opening a submission (fields as text, never markup), a tampered submission (error, no
// content), CSV and JSON-lines export (quoting, formula neutralisation, failures listed),
// local-only private keys, users (invite, grant note), the audit trail, sign-out.
// The fake backend refuses any request without the right X-CSRF-Token / Origin, so these
// flows also prove the pages send them.
// Run: cd tests/browser && node --test --test-concurrency=1 portal_flows.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as openpgp from '../../web/portal/node_modules/openpgp/dist/node/openpgp.mjs';
import { launch, totp, watch } from './lib.mjs';
import { startStaticPortal } from './static_server.mjs';
import { createFakeBackend } from './fake_backend.mjs';

const PASSWORD = 'a long enough password';
const PASSPHRASE = 'my key passphrase, quite long';

function unexpected(consoleErrors) {
  return consoleErrors.filter(
    (e) => !(/^Failed to load resource/.test(e.text) &&
             (e.url.includes('/portal/api/') || e.url.endsWith('/favicon.ico'))));
}

function submission(reference, fields) {
  return {
    attestation: {
      client_checks: { honeypot_empty: true, token: 'valid' }, form_id: 'intake', form_version: 2,
      received_at: '2026-11-23T18:00:00Z', reference, token_issued_at: '2026-11-23T17:55:00Z',
    },
    fields,
    format: 'sealpost-submission/1',
  };
}

// Walks the enrolment page for `link`; returns the recovery codes shown.
async function enrol(page, link, { localOnly = false } = {}) {
  await page.goto(link);
  await page.locator('#step-password:not([hidden])').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  // The client-side hint first, then the real thing.
  await page.fill('#new-password', 'short');
  await page.fill('#new-password-again', 'short');
  await page.click('#password-form button[type="submit"]');
  assert.match(await page.locator('#enrol-alert').textContent(), /at least 12/);
  await page.fill('#new-password', PASSWORD);
  await page.fill('#new-password-again', PASSWORD);
  await page.click('#password-form button[type="submit"]');
  await page.locator('#step-totp:not([hidden])').waitFor();
  assert.equal(await page.locator('#totp-qr').getAttribute('src'), '/portal/api/enrol/totp.svg');
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await page.fill('#totp-code', '000000' === totp(secret) ? '111111' : '000000');
  await page.click('#totp-form button[type="submit"]');
  await page.locator('#enrol-alert').filter({ hasText: /not right/ }).waitFor();
  await page.fill('#totp-code', totp(secret));
  await page.click('#totp-form button[type="submit"]');
  await page.locator('#step-recovery:not([hidden])').waitFor();
  const codes = await page.locator('#recovery-codes li').allTextContents();
  assert.equal(codes.length, 10);
  assert.ok(await page.locator('#codes-continue').isDisabled());
  await page.check('#codes-saved');
  await page.click('#codes-continue');
  assert.equal(await page.locator('#recovery-codes li').count(), 0, 'codes gone once saved');
  await page.locator('#step-key:not([hidden])').waitFor();
  await page.fill('#passphrase', PASSPHRASE);
  await page.fill('#passphrase-again', `${PASSPHRASE}!`);
  await page.click('#generate');
  assert.match(await page.locator('#enrol-alert').textContent(), /not the same/);
  await page.fill('#passphrase-again', PASSPHRASE);
  let keyFile = null;
  if (localOnly) {
    await page.check('#local-only');
    await page.click('#generate');
    await page.locator('#key-download:not([hidden])').waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-key')]);
    keyFile = await readFile(await download.path(), 'utf8');
    await page.check('#key-saved');
    await page.click('#key-finish');
  } else {
    await page.click('#generate');
  }
  await page.locator('#step-done:not([hidden])').waitFor({ timeout: 30_000 });
  await page.waitForURL((url) => url.pathname === '/portal/', { timeout: 10_000 });
  return { codes, secret, keyFile };
}

async function unlockWith(page, { passphrase, keyFile }) {
  await page.locator('#unlock-form:not([hidden])').waitFor();
  if (keyFile) await page.setInputFiles('#key-file', keyFile);
  await page.fill('#unlock-passphrase', passphrase);
  await page.click('#unlock-submit');
}

describe('portal flows against the fake backend', () => {
  let backend;
  let server;
  let browser;
  let context;
  let admin;

  before(async () => {
    backend = await createFakeBackend();
    server = await startStaticPortal({ api: backend.api });
    backend.origin = server.origin;
    ({ browser, context } = await launch());
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('enrol, open submissions, export, administer, sign out and in again', async () => {
    const page = await context.newPage();
    const seen = await watch(page);
    const { user, token } = backend.addUser('admin@example.org', ['admin', 'staff', 'auditor']);
    admin = user;
    user.grants.push('intake');
    const { codes, secret } = await enrol(page, `${server.origin}/portal/enrol#t=${token}`);

    // What the browser uploaded: a v4 EdDSA/cv25519 key, the private half passphrase-protected.
    const publicKey = await openpgp.readKey({ armoredKey: user.publicKey });
    assert.equal(publicKey.keyPacket.version, 4);
    assert.equal(publicKey.getAlgorithmInfo().algorithm, 'eddsaLegacy');
    assert.equal(publicKey.subkeys[0].getAlgorithmInfo().curve, 'curve25519Legacy');
    const privateKey = await openpgp.readPrivateKey({ armoredKey: user.privateKey });
    assert.equal(privateKey.isDecrypted(), false);
    await openpgp.decryptKey({ privateKey, passphrase: PASSPHRASE });

    // Submissions for the new key; one tampered, one trying markup and formulas.
    await backend.addSubmission(user, submission('AAAA-0001', {
      full_name: '<img src=x onerror=alert(1)><script>alert(2)</script>',
      allergies: 'Penicillin\nLatex, "dust"',
      contact_methods: ['email', 'phone'],
      phone: '+16502530000',
      note: '=HYPERLINK("http://example.invalid","click")',
      privacy_consent: { accepted: true, version: '2026-01' },
      pain_level: -3,
    }));
    await backend.addSubmission(user, submission('AAAA-0002', { full_name: 'Second Person' }),
                                { tamper: true });
    await backend.addSubmission(user, submission('AAAA-0003', { full_name: 'Third Person', extra: '@SUM(A1)' }));

    // The app: forms, then the form's submissions.
    await page.locator('#forms-body tr').first().waitFor();
    assert.match(await page.locator('#who-email').textContent(), /admin@example\.org/);
    await page.click('#forms-body button:text("Open")');
    await page.locator('#subs-body tr').nth(2).waitFor();
    assert.equal(await page.locator('#subs-body tr').count(), 3);

    // Opening asks to unlock first; a wrong passphrase is refused.
    await page.click('button[aria-label="Open submission AAAA-0001"]');
    await unlockWith(page, { passphrase: 'wrong passphrase, wrong' });
    await page.locator('#unlock-alert').filter({ hasText: 'The passphrase is wrong.' }).waitFor();
    await unlockWith(page, { passphrase: PASSPHRASE });
    await page.locator('#submission-fields dt').first().waitFor();
    assert.equal(await page.locator('#key-state').textContent(), 'Key unlocked in this tab');
    const fieldsText = await page.locator('#submission-fields').textContent();
    assert.ok(fieldsText.includes('<img src=x onerror=alert(1)><script>alert(2)</script>'),
              'markup shown as text');
    assert.equal(await page.locator('#submission-fields img, #submission-fields script').count(), 0);
    assert.match(fieldsText, /Accepted \(version 2026-01\)/);
    assert.match(await page.locator('#submission-attestation').textContent(), /AAAA-0001/);

    // The tampered one: an error and nothing else.
    await page.click('button[aria-label="Open submission AAAA-0002"]');
    await page.locator('#submission-alert').filter({ hasText: /could not be decrypted/ }).waitFor();
    assert.equal(await page.locator('#submission-fields dt').count(), 0);
    assert.equal(await page.locator('#submission-attestation dt').count(), 0);

    // Search by reference.
    await page.fill('#search-reference', 'AAAA-0003');
    await page.click('#search-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 1);
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 3);

    // CSV export.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-start')]);
    const csv = await readFile(await csvDownload.path(), 'utf8');
    assert.match(csvDownload.suggestedFilename(), /^intake-submissions-\d{8}\.csv$/);
    const lines = csv.replace(/^\uFEFF/, '').split('\r\n');
    // Columns in the order first seen (the server's canonical JSON sorts keys); a field that
    // appears first in a later batch gets a column at the end.
    assert.equal(lines[0], '"reference","received_at","form_id","form_version","full_name",' +
                           '"allergies","contact_methods","phone","note",' +
                           '"privacy_consent.accepted","privacy_consent.version","pain_level","extra"');
    assert.ok(csv.includes('"Penicillin\nLatex, ""dust"""'), 'RFC 4180 quoting');
    assert.ok(csv.includes('"\'=HYPERLINK(""http://example.invalid"",""click"")"'), '= neutralised');
    assert.ok(csv.includes('"\'+16502530000"'), '+ neutralised');
    assert.ok(csv.includes('"\'-3"'), '- neutralised');
    assert.ok(csv.includes('"\'@SUM(A1)"'), '@ neutralised');
    assert.ok(csv.includes('"email; phone"'));
    assert.ok(!csv.includes('Second Person'), 'nothing of the tampered submission');
    assert.equal(lines.filter((l) => l.startsWith('"AAAA-')).length, 2);
    await page.locator('#export-alert').filter({ hasText: /AAAA-0002/ }).waitFor();

    // JSON-lines export.
    await page.check('#export-jsonl');
    const [jsonlDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-start')]);
    const records = (await readFile(await jsonlDownload.path(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.reference), ['AAAA-0001', 'AAAA-0003']);
    assert.equal(records[0].fields.pain_level, -3);

    // Lock: the next open asks for the passphrase again.
    await page.click('#lock');
    assert.equal(await page.locator('#key-state').textContent(), 'Key locked');
    await page.click('button[aria-label="Open submission AAAA-0003"]');
    await page.locator('#unlock-form:not([hidden])').waitFor();
    await page.click('#unlock-cancel');

    // Users: invite; grant to someone without a key (409), then with a key (note).
    await page.click('nav button[data-view="users"]');
    await page.locator('#users-body tr').first().waitFor();
    await page.fill('#invite-email', 'nurse@example.org');
    await page.click('#invite-form button[type="submit"]');
    await page.locator('#invite-result:not([hidden])').waitFor();
    const link = await page.locator('#invite-link').inputValue();
    assert.match(link, /\/portal\/enrol#t=[A-Za-z0-9_-]+$/);
    await page.locator('#users-body tr').nth(1).waitFor();
    await page.locator('#users-body tr', { hasText: 'nurse@example.org' }).locator('button:text("Give access")').click();
    await page.locator('#users-alert').filter({ hasText: /no key yet/ }).waitFor();

    // Audit: verify and export.
    await page.click('nav button[data-view="audit"]');
    await page.locator('#audit-body tr').first().waitFor();
    await page.click('#audit-verify');
    await page.locator('#audit-status').filter({ hasText: /intact/ }).waitFor();
    const [auditDownload] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    const auditLines = (await readFile(await auditDownload.path(), 'utf8')).trim().split('\n');
    assert.ok(auditLines.length >= 3 && auditLines.every((l) => JSON.parse(l).action));

    // Sign out, then in again with TOTP (the next step's code: each code works once).
    await page.click('#sign-out');
    await page.waitForURL(/\/portal\/sign-in\?reason=signed-out/);
    await page.locator('#password-form:not([hidden])').waitFor();
    await page.fill('#email', 'admin@example.org');
    await page.fill('#password', 'not the password');
    await page.click('#password-form button[type="submit"]');
    await page.locator('#sign-in-alert').filter({ hasText: 'The e-mail address or password is wrong.' }).waitFor();
    await page.fill('#password', PASSWORD);
    await page.click('#password-form button[type="submit"]');
    await page.locator('#code-form:not([hidden])').waitFor();
    await page.fill('#code', totp(secret, Math.floor(Date.now() / 1000) + 30));
    await page.click('#code-form button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/portal/');
    await page.locator('#forms-body tr').first().waitFor();

    // And once more with a recovery code.
    await page.click('#sign-out');
    await page.locator('#password-form:not([hidden])').waitFor();
    await page.fill('#email', 'admin@example.org');
    await page.fill('#password', PASSWORD);
    await page.click('#password-form button[type="submit"]');
    await page.click('#use-recovery');
    await page.fill('#recovery-code', codes[3]);
    await page.click('#recovery-form button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/portal/');
    await page.locator('#forms-body tr').first().waitFor();

    assert.deepEqual(backend.rejected, [], 'every request carried the right CSRF token and Origin');
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);
    assert.deepEqual(seen.pageErrors, []);
    await page.close();
  });

  test('a key kept only on this computer: uploaded without private key, unlocked from the file',
       async () => {
    const fresh = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    const page = await fresh.newPage();
    const seen = await watch(page);
    const { user, token } = backend.addUser('reviewer@example.org', ['reviewer']);
    user.grants.push('intake');
    const { keyFile } = await enrol(page, `${server.origin}/portal/enrol#t=${token}`, { localOnly: true });
    assert.equal(user.privateKey, null, 'no private key on the server');
    assert.match(keyFile, /-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const fromFile = await openpgp.readPrivateKey({ armoredKey: keyFile });
    assert.equal(fromFile.isDecrypted(), false);
    assert.equal(fromFile.getFingerprint().toUpperCase(), user.fingerprint);

    await backend.addSubmission(user, submission('BBBB-0001', { full_name: 'For the reviewer' }));
    await page.locator('#forms-body tr').first().waitFor();
    assert.equal(await page.locator('nav button[data-view="users"]').isHidden(), true);
    assert.equal(await page.locator('nav button[data-view="audit"]').isHidden(), true);
    await page.click('#forms-body button:text("Open")');
    await page.click('button[aria-label="Open submission BBBB-0001"]');
    await page.locator('#key-file-field:not([hidden])').waitFor();
    // Someone else's key file is refused before the passphrase is even tried.
    const other = await openpgp.generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'x@example.org' }], passphrase: PASSPHRASE,
      format: 'armored',
    });
    await unlockWith(page, { passphrase: PASSPHRASE, keyFile: { name: 'other.asc', mimeType: 'text/plain', buffer: Buffer.from(other.privateKey) } });
    await page.locator('#unlock-alert').filter({ hasText: /not the key registered/ }).waitFor();
    await unlockWith(page, { passphrase: PASSPHRASE, keyFile: { name: 'mine.asc', mimeType: 'text/plain', buffer: Buffer.from(keyFile) } });
    await page.locator('#submission-fields dd', { hasText: 'For the reviewer' }).waitFor();

    // An export of more than one batch (the API gives at most 500 a request): every row
    // once, and a field first seen in the second batch still gets its header column.
    backend.forms.push({ id: 'bulk', title: 'Bulk form', version: 1 });
    user.grants.push('bulk');
    const bulk = (reference, fields) => {
      const d = submission(reference, fields);
      d.attestation.form_id = 'bulk';
      return d;
    };
    for (let i = 1; i <= 520; i++) {
      const ref = `BULK-${String(i).padStart(4, '0')}`;
      await backend.addSubmission(user, bulk(ref, i === 510 ? { n: i, late_field: 'late' } : { n: i }));
    }
    await page.click('#back-to-forms');
    await page.locator('#forms-body tr', { hasText: 'Bulk form' }).locator('button:text("Open")').click();
    await page.locator('#subs-body tr').nth(49).waitFor();
    assert.equal(await page.locator('#subs-next').isDisabled(), false, 'more than one page');
    await page.click('#subs-next');
    await page.locator('#subs-caption', { hasText: 'page 2' }).waitFor();
    assert.equal(await page.locator('#subs-body tr').first().locator('td').first().textContent(), 'BULK-0051');
    await page.click('#subs-previous');
    await page.locator('#subs-caption', { hasText: 'page 1' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }), page.click('#export-start'),
    ]);
    const csv = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '');
    const rows = csv.split('\r\n').filter((l) => l);
    assert.equal(rows[0], '"reference","received_at","form_id","form_version","n","late_field"');
    assert.equal(rows.length, 521);
    assert.equal(new Set(rows.slice(1).map((r) => r.split(',')[0])).size, 520);
    assert.ok(rows.includes('"BULK-0510","2026-11-23T18:00:00Z","bulk","2","510","late"'));
    // Rows of later batches have a cell for every column known by then; rows written before
    // a column appeared end early (the API gives no field list to know every column up
    // front; spreadsheets read such rows as empty at the end).
    assert.ok(rows.includes('"BULK-0520","2026-11-23T18:00:00Z","bulk","2","520",""'));
    assert.ok(rows.includes('"BULK-0001","2026-11-23T18:00:00Z","bulk","2","1"'));
    await page.locator('#export-status', { hasText: 'Done: 520 submissions' }).waitFor();
    assert.equal(backend.requests.filter((r) => r === 'GET /portal/api/forms/bulk/export').length, 2);

    assert.deepEqual(backend.rejected, []);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);
    assert.deepEqual(seen.pageErrors, []);
    await fresh.close();
  });

  test('an admin grants a form to a person with a key and sees the note', async () => {
    const page = await context.newPage();
    const seen = await watch(page);
    // Still signed in from the first test (same context, same cookie).
    await page.goto(`${server.origin}/portal/`);
    await page.click('nav button[data-view="users"]');
    const { user } = backend.addUser('late@example.org', ['staff']);
    user.publicKey = admin.publicKey;  // any key will do for the grant
    user.fingerprint = admin.fingerprint;
    user.status = 'active';
    await page.click('nav button[data-view="users"]');
    const row = page.locator('#users-body tr', { hasText: 'late@example.org' });
    await row.locator('button:text("Give access")').click();
    await page.locator('#users-status').filter({ hasText: /earlier recipients/ }).waitFor();
    assert.deepEqual(user.grants, ['intake']);
    await page.locator('#users-body tr', { hasText: 'late@example.org' })
        .locator('button[aria-label^="Remove late@example.org"]').waitFor();
    page.once('dialog', (dialog) => dialog.accept());
    await page.locator('#users-body tr', { hasText: 'late@example.org' })
        .locator('button[aria-label^="Remove late@example.org"]').click();
    await page.locator('#users-status').filter({ hasText: /Access removed/ }).waitFor();
    assert.deepEqual(user.grants, []);

    // The server ends the session (time-out, roles changed elsewhere): the next request
    // answers 401 and the page goes to the sign-in page, saying why.
    backend.sessions.clear();
    await page.click('nav button[data-view="audit"]');
    await page.waitForURL(/\/portal\/sign-in\?reason=expired/);
    await page.locator('#sign-in-status').filter({ hasText: /session has ended/ }).waitFor();

    assert.deepEqual(backend.rejected, []);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);
    await page.close();
  });
});
