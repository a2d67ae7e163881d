// End to end: the staff portal in Debian's Chromium against the REAL sealpost binary
// (SEALPOST_BIN), in a temporary data directory, with the intake form's declared recipient
// a key made by the real gpg. One server for the whole story, told in order; each step
// needs the ones before it, so after a failure the later steps are skipped (and say so).
//
//  1. the first admin, added with `sealpost user add`, enrols in the browser: password,
//     TOTP secret read off the page (the QR image loads), a code computed here, 10
//     recovery codes, the OpenPGP key made in the browser (kept on the server,
//     passphrase-encrypted);
//  2. the admin invites a staff member in the UI, who enrols in a second browser context;
//     the admin grants the intake form and sees the note about older submissions;
//  3. submissions through the public form /f/intake, one with markup in a text field;
//  4. staff signs in (password + TOTP), unlocks the key, opens the submission: the
//     markup shown as text, nothing executed, the server's signature verified; the
//     submission from before the grant is refused;
//  5. CSV and JSON-lines exports, checked against what gpg decrypts from the database;
//  6. a tampered ciphertext: an error and none of its content;
//  7. an idle session (aged in the database): the next action leads to sign-in; sign-in
//     with a recovery code;
//  8. CSRF: a token-less fetch from the portal page, a form post and a no-cors fetch from
//     another origin on the same site (the SameSite cookie IS sent there): all 403;
//  9. the audit trail: verified, exported, filtered;
// 10. a key kept only on the reviewer's computer; paging; an export of two batches;
// 11. a grant removed;
// 12. lockout: wrong passwords until the page shows the wait; then the right one works;
// and on every portal page and public form page: no CSP violation, no unexpected console
// error, no uncaught exception. tests/browser/README.md has the details.
// Run: cd tests/browser && SEALPOST_BIN=../../build/release/src/app/sealpost \
//        node --test --test-concurrency=1 e2e_portal.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from '../../web/portal/node_modules/openpgp/dist/node/openpgp.mjs';
import { launch, selfSignedCert, totp, watch } from './lib.mjs';
import { Sealpost, freshTotp, sqlText } from './sealpost.mjs';

const ADMIN = 'admin@example.org';
const STAFF = 'staff@example.org';
const REVIEWER = 'reviewer@example.org';
const BULK = 505;  // more than one export batch (500) and many pages (50)
const ADMIN_PASSWORD = 'admin password for the e2e test';
const STAFF_PASSWORD = 'staff password for the e2e test';
const ADMIN_PASSPHRASE = 'admin key passphrase, quite long';
const STAFF_PASSPHRASE = 'staff key passphrase, quite long';
const PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const FORMULA = '=HYPERLINK("http://example.invalid","click")\nLatex, "dust"';
const REFERENCE = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;
const WRONG_PASSWORD = 'The e-mail address or password is wrong.';
const UNREADABLE = /could not be decrypted, or its signature did not verify\. None of it is shown\./;

// Chromium logs every 4xx answer as "Failed to load resource"; the tests provoke some on
// purpose (wrong code, wrong password, 401 after the session ends, 403 CSRF, 429, the
// public form sent back with an error: 422).
function unexpected(consoleErrors) {
  return consoleErrors.filter(
    (e) => !(/^Failed to load resource/.test(e.text) &&
             (e.url.includes('/portal/api/') || e.url.endsWith('/favicon.ico') ||
              (/status of 422/.test(e.text) && e.url.endsWith('/f/intake')))));
}

function grouped(fpr) {
  return fpr.replace(/(.{4})(?=.)/g, '$1 ');
}

// A code that is not the right one for any step the server might accept now.
function wrongCode(secret) {
  const now = Math.floor(Date.now() / 1000);
  const near = new Set([-60, -30, 0, 30, 60].map((d) => totp(secret, now + d)));
  return ['000000', '111111', '222222', '333333'].find((c) => !near.has(c));
}

describe('staff portal end to end, real server, Chromium', () => {
  const sp = { server: null };
  let browser;
  let adminContext;
  let staffContext;
  let publicContext;
  const watched = [];  // {name, page, seen} of every page opened, for the CSP check and on failure
  const artifacts = join(process.env.SEALPOST_E2E_ARTIFACTS || tmpdir(), `sealpost-e2e-${process.pid}`);
  let failed = null;   // the first step that failed: later steps skip
  const story = {
    admin: { used: new Set() },
    staff: { used: new Set() },
  };

  async function open(context, name) {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const seen = await watch(page);
    watched.push({ name, page, seen });
    return page;
  }

  function assertClean(pages) {
    for (const { name, seen } of pages) {
      assert.deepEqual(seen.cspViolations, [], `CSP violations on ${name}`);
      assert.deepEqual(unexpected(seen.consoleErrors), [], `console errors on ${name}`);
      assert.deepEqual(seen.pageErrors, [], `uncaught exceptions on ${name}`);
    }
  }

  // On failure: a screenshot and the visible alerts of each open page, and the server's
  // log tail, so the test output says what the browser showed.
  async function explain(name, error) {
    mkdirSync(artifacts, { recursive: true });
    const lines = [`step "${name}" failed: ${error && error.message}`];
    for (const [i, { name: pageName, page, seen }] of watched.entries()) {
      if (page.isClosed()) continue;
      const file = join(artifacts, `${i}-${pageName.replace(/[^a-z0-9]+/gi, '_')}.png`);
      let alerts = '';
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
        alerts = (await page.locator('[role="alert"], [role="status"]').allTextContents())
            .filter((t) => t.trim()).join(' | ');
      } catch {
        // A page in the middle of a navigation: the URL below is still useful.
      }
      lines.push(`  page ${pageName}: ${page.url()}`, `    screenshot ${file}`,
                 `    alerts/status: ${alerts || '(none)'}`);
      if (seen.cspViolations.length) lines.push(`    CSP: ${seen.cspViolations.join(' / ')}`);
      if (seen.consoleErrors.length) {
        lines.push(`    console errors: ${seen.consoleErrors.map((e) => `${e.text} (${e.url})`).join(' / ')}`);
      }
      if (seen.pageErrors.length) lines.push(`    exceptions: ${seen.pageErrors.join(' / ')}`);
    }
    if (sp.server) lines.push('  server log (last 40 lines):', ...sp.server.log().split('\n').slice(-40).map((l) => `    ${l}`));
    console.log(lines.join('\n'));
  }

  // A step of the story: skipped when an earlier one failed; explained when it fails. Its
  // own deadline comes before the runner's, so a step that hangs is explained too.
  function step(name, fn, timeout = 120_000) {
    test(name, { timeout: timeout + 30_000 }, async (t) => {
      if (failed) {
        t.skip(`needs "${failed}", which failed`);
        return;
      }
      let timer;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the step took more than ${timeout / 1000} s`)), timeout);
          }),
        ]);
      } catch (error) {
        failed = name;
        await explain(name, error);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    });
  }

  before(async () => {
    // Room for the form posts of this test; the portal's own limits are the defaults.
    sp.server = new Sealpost({
      configText: '[rate_limit]\nper_ip_per_minute = 1000\nper_ip_burst = 1000',
    });
    await sp.server.start();
    ({ browser, context: adminContext } = await launch());
    staffContext = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    publicContext = await browser.newContext({ ignoreHTTPSErrors: true });
  });

  after(async () => {
    if (browser) await browser.close();
    if (sp.server) {
      await sp.server.close();
      assert.equal(sp.server.exitStatus, 0, `sealpost serve exit status\n${sp.server.log()}`);
    }
  });

  // The enrolment page, start to finish, for `link`. Returns {secret, codes, fingerprint}.
  async function enrol(page, link, { email, password, passphrase, used, localOnly = false,
                                     refusals = false }) {
    await page.goto(link);
    await page.locator('#step-password:not([hidden])').waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    assert.equal(await page.locator('#enrol-email').textContent(), email);
    if (refusals) {
      // The page's own hint, then the server's password policy, shown as the server says.
      await page.fill('#new-password', 'short');
      await page.fill('#new-password-again', 'short');
      await page.click('#password-form button[type="submit"]');
      await page.locator('#enrol-alert', { hasText: 'The password needs at least 12 characters.' }).waitFor();
      await page.fill('#new-password', 'passwordpassword');
      await page.fill('#new-password-again', 'passwordpassword');
      await page.click('#password-form button[type="submit"]');
      await page.locator('#enrol-alert', { hasText: 'That password is too common; choose another.' }).waitFor();
    }
    await page.fill('#new-password', password);
    await page.fill('#new-password-again', password);
    await page.click('#password-form button[type="submit"]');

    await page.locator('#step-totp:not([hidden])').waitFor();
    const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/, 'the TOTP secret is shown, base32');
    // The QR code is the server's SVG, loaded by the <img> under the portal CSP.
    await page.waitForFunction(() => {
      const img = document.getElementById('totp-qr');
      return img.complete && img.naturalWidth > 0;
    }, null, { timeout: 10_000 });
    assert.equal(await page.locator('#totp-qr').getAttribute('src'), '/portal/api/enrol/totp.svg');

    await page.fill('#totp-code', wrongCode(secret));
    await page.click('#totp-form button[type="submit"]');
    await page.locator('#enrol-alert', { hasText: 'That code is not right.' }).waitFor();
    await page.fill('#totp-code', await freshTotp(secret, used));
    await page.click('#totp-form button[type="submit"]');

    await page.locator('#step-recovery:not([hidden])').waitFor();
    const codes = await page.locator('#recovery-codes li').allTextContents();
    assert.equal(codes.length, 10, 'ten recovery codes');
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    await page.check('#codes-saved');
    await page.click('#codes-continue');

    await page.locator('#step-key:not([hidden])').waitFor();
    if (refusals) {
      await page.fill('#passphrase', passphrase);
      await page.fill('#passphrase-again', `${passphrase}!`);
      await page.click('#generate');
      await page.locator('#enrol-alert', { hasText: 'The two passphrases are not the same.' }).waitFor();
    }
    await page.fill('#passphrase', passphrase);
    await page.fill('#passphrase-again', passphrase);
    let keyFile = null;
    if (localOnly) {
      await page.check('#local-only');
      await page.click('#generate');
      await page.locator('#key-download:not([hidden])').waitFor({ timeout: 60_000 });
      keyFile = (await download(page, () => page.click('#download-key'))).text;
      assert.equal(await page.locator('#key-finish').isDisabled(), true);
      await page.check('#key-saved');
      await page.click('#key-finish');
    } else {
      await page.click('#generate');
    }
    await page.locator('#step-done:not([hidden])').waitFor({ timeout: 60_000 });
    const fingerprint = (await page.locator('#done-fingerprint').textContent()).replace(/\s+/g, '');
    assert.match(fingerprint, /^[0-9A-F]{40}$/);
    // The page moves on to the portal by itself.
    await page.waitForURL((url) => url.pathname === '/portal/', { timeout: 20_000 });
    await page.locator('#view-forms:not([hidden])').waitFor();
    assert.equal(await page.locator('#who-email').textContent(), email);
    return { secret, codes, fingerprint, keyFile };
  }

  // GET an API path from inside the page, with the session's CSRF token, as app.js does.
  function apiFromPage(page, path) {
    return page.evaluate(async (p) => {
      const session = await (await fetch('/portal/api/session')).json();
      const response = await fetch(p, { headers: { 'X-CSRF-Token': session.csrf } });
      return { status: response.status, body: await response.json() };
    }, path);
  }

  // Fills the real public form and sends it; returns the reference from the thanks page.
  async function submitIntake(name, { fullName, allergies = 'none', signature }) {
    const page = await open(publicContext, name);
    await page.goto(`${sp.server.origin}/f/intake`);
    await page.fill('#field-full_name', fullName);
    await page.fill('#field-date_of_birth', '1980-02-03');
    await page.fill('#field-email', 'patient@example.org');
    await page.fill('#field-phone', '+1 202 555 0143');
    await page.selectOption('#field-visit_reason', 'new');
    await page.fill('#field-allergies', allergies);
    await page.fill('#field-pain_level', '3');
    await page.check('#field-contact_methods');      // email
    await page.check('#field-contact_methods-2');    // phone
    await page.check('#field-preferred_time');       // morning
    await page.check('#field-privacy_consent');
    await page.fill('#field-signature', signature);
    await Promise.all([page.waitForURL(/\/f\/intake\/thanks\//), page.click('button[type="submit"]')]);
    const reference = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    assert.match(reference, REFERENCE);
    assert.match(await page.locator('main').textContent(), /received securely/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await page.close();
    return reference;
  }

  async function signIn(page, email, password, secondFactor) {
    await page.locator('#password-form:not([hidden])').waitFor();
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#password-form button[type="submit"]');
    await page.locator('#code-form:not([hidden])').waitFor();
    if (secondFactor.code) {
      await page.fill('#code', secondFactor.code);
      await page.click('#code-form button[type="submit"]');
    } else {
      await page.click('#use-recovery');
      await page.fill('#recovery-code', secondFactor.recoveryCode);
      await page.click('#recovery-form button[type="submit"]');
    }
    await page.waitForURL((url) => url.pathname === '/portal/');
    await page.locator('#forms-body tr').first().waitFor();
  }

  async function openIntake(page) {
    await page.locator('#forms-body tr', { hasText: 'New patient intake' })
        .locator('button', { hasText: 'Open' }).click();
    await page.locator('#subs-body tr').first().waitFor();
  }

  // Runs the page's submission search; returns what the server answered, once the page
  // has shown it.
  async function search(page) {
    await page.evaluate(() => { document.getElementById('subs-caption').textContent = ''; });
    const [response] = await Promise.all([
      page.waitForResponse((r) => /\/portal\/api\/forms\/intake\/submissions\?/.test(r.url())),
      page.click('#search-form button[type="submit"]'),
    ]);
    const body = await response.json();
    await page.locator('#subs-caption', { hasText: 'page 1' }).waitFor();
    return { url: response.url(), references: body.items.map((item) => item.reference) };
  }

  function openButton(page, reference) {
    return page.locator(`button[aria-label="Open submission ${reference}"]`);
  }

  async function download(page, click) {
    const [file] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), click()]);
    return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
  }

  // ---------------------------------------------------------------------------------------

  step('1. the first admin enrols in the browser; the key is made there', async () => {
    const { printed, link } = sp.server.addUser(ADMIN, ['admin']);
    assert.match(printed, /\/portal\/enrol#t=/);
    const page = await open(adminContext, 'admin portal');
    const result = await enrol(page, link, {
      email: ADMIN, password: ADMIN_PASSWORD, passphrase: ADMIN_PASSPHRASE, used: story.admin.used,
      refusals: true,
    });
    Object.assign(story.admin, result, { page });
    assert.equal(await page.locator('#who-roles').textContent(), '(Administrator)');
    // The admin sees the form but was granted nothing: cannot read it.
    await page.locator('#forms-body tr').first().waitFor();
    assert.match(await page.locator('#forms-body').textContent(), /New patient intake.*Can see, not read/s);

    // What the server keeps: the public key and the private key, passphrase-encrypted.
    const { status, body } = await apiFromPage(page, '/portal/api/me/key');
    assert.equal(status, 200);
    assert.equal(body.fingerprint, result.fingerprint);
    const privateKey = await openpgp.readPrivateKey({ armoredKey: body.private_key });
    assert.equal(privateKey.isDecrypted(), false, 'the stored private key is encrypted');
    assert.equal(privateKey.getFingerprint().toUpperCase(), result.fingerprint);
    await assert.rejects(openpgp.decryptKey({ privateKey, passphrase: 'not the passphrase at all' }));
    const unlocked = await openpgp.decryptKey({ privateKey, passphrase: ADMIN_PASSPHRASE });
    assert.equal(unlocked.isDecrypted(), true);
    // The session the page runs on: full, the default time-outs (the page's own idle and
    // expiry checks use these numbers).
    const session = await page.evaluate(async () => (await fetch('/portal/api/session')).json());
    assert.equal(session.stage, 'full');
    assert.deepEqual(session.roles, ['admin']);
    assert.equal(session.idle_timeout_seconds, 900);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(session.expires_at - (now + 43200)) < 120, `expires_at ${session.expires_at}, now ${now}`);
    const [row] = sp.server.sql(`SELECT status, key_fingerprint, private_key_armored IS NOT NULL FROM users WHERE email = ${sqlText(ADMIN)};`);
    assert.equal(row, `active|${result.fingerprint}|1`);
    assertClean(watched);
  });

  step('2. the admin invites staff, staff enrols in a second browser, the admin grants the form', async () => {
    const page = story.admin.page;
    await page.click('nav button[data-view="users"]');
    await page.locator('#users-body tr', { hasText: ADMIN }).waitFor();
    await page.fill('#invite-email', STAFF);
    assert.equal(await page.locator('#invite-role-staff').isChecked(), true, 'staff is the default role');
    await page.click('#invite-form button[type="submit"]');
    await page.locator('#invite-result:not([hidden])').waitFor();
    const link = await page.locator('#invite-link').inputValue();
    assert.ok(link.startsWith(`${sp.server.origin}/portal/enrol#t=`), link);
    const row = page.locator('#users-body tr', { hasText: STAFF });
    await row.filter({ hasText: 'no key yet' }).waitFor();
    assert.match(await row.textContent(), /invited/);
    // No grant before there is a key to encrypt to.
    await row.locator('button', { hasText: 'Give access' }).click();
    await page.locator('#users-alert', { hasText: 'This person has not finished enrolment (no key yet).' }).waitFor();

    const staffPage = await open(staffContext, 'staff portal');
    const result = await enrol(staffPage, link, {
      email: STAFF, password: STAFF_PASSWORD, passphrase: STAFF_PASSPHRASE, used: story.staff.used,
    });
    Object.assign(story.staff, result, { page: staffPage });
    await staffPage.locator('#forms-empty:not([hidden])').waitFor();
    assert.match(await staffPage.locator('#forms-empty').textContent(), /No forms have been shared/);

    // A submission before the grant: encrypted to the form's recipient only.
    story.early = await submitIntake('public form (before the grant)', {
      fullName: 'Early Patient', signature: 'Early Patient',
    });

    await page.click('nav button[data-view="users"]');
    await row.filter({ hasText: grouped(result.fingerprint) }).waitFor();
    assert.match(await row.textContent(), /active/);
    await row.locator('select').selectOption('intake');
    story.logBeforeGrant = sp.server.log().length;
    await row.locator('button', { hasText: 'Give access' }).click();
    const status = page.locator('#users-status');
    await status.filter({ hasText: /can now read new submissions/ }).waitFor();
    const text = await status.textContent();
    assert.match(text, /version 2/);
    assert.match(text, /Submissions received before now stay readable only by the keys they were encrypted to\./);
    await row.filter({ hasText: 'New patient intake' }).waitFor();
    assertClean(watched);
  });

  step('3. submissions through the public form, one with markup and a formula', async () => {
    // The server looks for new form versions every 2 s: wait until it serves version 2.
    await sp.server.waitForLog(/event=catalog_reloaded/, story.logBeforeGrant);
    // The public form sent back with an error keeps what was typed, as text.
    const page = await open(publicContext, 'public form (error)');
    await page.goto(`${sp.server.origin}/f/intake`);
    await page.fill('#field-full_name', PAYLOAD);
    await page.fill('#field-email', 'not an address');
    await page.evaluate(() => { document.querySelector('form').noValidate = true; });
    await Promise.all([page.waitForLoadState('load'), page.waitForResponse((r) => r.request().method() === 'POST'),
                       page.click('button[type="submit"]')]);
    await page.locator('.error-message').first().waitFor();
    assert.equal(await page.inputValue('#field-full_name'), PAYLOAD);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.locator('img, main script').count(), 0);
    await page.close();

    story.payload = await submitIntake('public form (payload)', {
      fullName: PAYLOAD, allergies: FORMULA, signature: 'Jane Roe',
    });
    story.target = await submitIntake('public form (to tamper)', {
      fullName: 'Tamper Target', signature: 'Tamper Target',
    });
    // Stored encrypted to the form's version 2: the gpg recipient and the staff key.
    const rows = sp.server.sql('SELECT reference, form_version, recipients FROM submissions ORDER BY seq;');
    assert.equal(rows.length, 3);
    const [early, payload, target] = rows.map((r) => r.split('|'));
    assert.deepEqual(early.slice(0, 2), [story.early, '1']);
    assert.ok(!early[2].includes(story.staff.fingerprint), 'the early one is not for staff');
    for (const [row, reference] of [[payload, story.payload], [target, story.target]]) {
      assert.deepEqual(row.slice(0, 2), [reference, '2']);
      assert.ok(row[2].includes(story.staff.fingerprint), `staff is a recipient: ${row[2]}`);
      assert.ok(row[2].includes(sp.server.recipientFpr), `the gpg key is a recipient: ${row[2]}`);
    }
    // The declared recipient decrypts with the real gpg, and the server's signature is good.
    story.gpgDocuments = {};
    for (const reference of [story.payload, story.target]) {
      const out = sp.server.gpg.decrypt(sp.server.ciphertext(reference));
      assert.ok(out.ok, out.status);
      assert.match(out.status, new RegExp(`VALIDSIG ${sp.server.serverFpr}`));
      story.gpgDocuments[reference] = JSON.parse(out.plaintext);
    }
    const doc = story.gpgDocuments[story.payload];
    assert.equal(doc.fields.full_name, PAYLOAD);
    assert.equal(doc.fields.allergies, FORMULA);
    assertClean(watched);
  });

  step('4. staff signs in with password and TOTP, unlocks the key, reads the submission as text', async () => {
    const page = story.staff.page;
    await page.click('#sign-out');
    await page.waitForURL(/\/portal\/sign-in\?reason=signed-out/);
    await page.locator('#sign-in-status', { hasText: 'You are signed out.' }).waitFor();
    const cookies = (await staffContext.cookies()).map((c) => c.name);
    assert.ok(!cookies.includes('__Host-sealpost-session'), `cookie cleared: ${cookies}`);
    const [left] = sp.server.sql('SELECT count(*) FROM sessions WHERE user_id = ' +
                                 `(SELECT id FROM users WHERE email = ${sqlText(STAFF)});`);
    assert.equal(left, '0', 'the session is gone from the server');
    await signIn(page, STAFF, STAFF_PASSWORD, { code: await freshTotp(story.staff.secret, story.staff.used) });
    const cookie = (await staffContext.cookies()).find((c) => c.name === '__Host-sealpost-session');
    assert.ok(cookie, 'a session cookie');
    assert.deepEqual([cookie.secure, cookie.httpOnly, cookie.sameSite, cookie.path, cookie.expires],
                     [true, true, 'Strict', '/', -1], 'Secure, HttpOnly, SameSite=Strict, Path=/, a browser-session cookie');
    assert.match(await page.locator('#forms-body').textContent(), /New patient intake.*Can read submissions/s);
    await openIntake(page);
    assert.equal(await page.locator('#subs-body tr').count(), 3);

    // Search by reference.
    await page.fill('#search-reference', story.payload);
    await page.click('#search-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 1);
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 3);
    // By date (the browser's calendar day): today has all three, tomorrow none. The early
    // one is moved (its row's received_at; the signed copy inside is untouched) to the last
    // second of today: "until today" must still find it (the API's `to` is exclusive).
    const [today, tomorrow, lastSecond] = await page.evaluate(() => {
      const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      const now = new Date();
      const next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
      return [day(now), day(next), Math.floor(next.getTime() / 1000) - 1];
    });
    sp.server.sql(`UPDATE submissions SET received_at = ${lastSecond} WHERE reference = ${sqlText(story.early)};`);
    await page.fill('#search-from', today);
    await page.fill('#search-to', today);
    const todays = await search(page);
    assert.deepEqual(todays.references, [story.early, story.payload, story.target],
                     `until today includes its last second: ${todays.url}`);
    await page.fill('#search-from', tomorrow);
    await page.fill('#search-to', tomorrow);
    assert.deepEqual((await search(page)).references, []);
    await page.locator('#subs-empty:not([hidden])').waitFor();
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 3);

    // Opening asks for the passphrase; a wrong one is refused in the worker.
    await openButton(page, story.payload).click();
    await page.locator('#unlock-form:not([hidden])').waitFor();
    assert.equal(await page.locator('#key-file-field').isHidden(), true, 'the key is on the server');
    await page.fill('#unlock-passphrase', 'not the passphrase at all');
    await page.click('#unlock-submit');
    await page.locator('#unlock-alert', { hasText: 'The passphrase is wrong.' }).waitFor();
    await page.fill('#unlock-passphrase', STAFF_PASSPHRASE);
    await page.click('#unlock-submit');
    await page.locator('#submission-fields dt').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#key-state').textContent(), 'Key unlocked in this tab');

    // The markup is text: shown literally, nothing created from it, nothing ran.
    const names = await page.locator('#submission-fields dt').allTextContents();
    const values = await page.locator('#submission-fields dd').allTextContents();
    const shown = Object.fromEntries(names.map((n, i) => [n, values[i]]));
    assert.equal(shown.full_name, PAYLOAD);
    assert.equal(shown.allergies, FORMULA);
    assert.equal(shown.email, 'patient@example.org');
    assert.equal(shown.contact_methods, 'email, phone');
    assert.match(shown.privacy_consent, /^Accepted \(version 2026-01\)$/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
    assert.equal(await page.evaluate(() => document.querySelectorAll('img, #submission script').length), 0,
                 'no element made from the payload');
    const attestation = await page.locator('#submission-attestation').textContent();
    assert.ok(attestation.includes(story.payload), attestation);
    assert.ok(attestation.includes(`verified with the server's key ${grouped(sp.server.serverFpr)}`),
              `the signature row names the server key: ${attestation}`);
    assert.match(attestation, /form token valid/);

    // The one from before the grant reaches the browser but this key cannot open it.
    await openButton(page, story.early).click();
    await page.locator('#submission-alert', { hasText: UNREADABLE }).waitFor();
    assert.equal(await page.locator('#submission-fields dt').count(), 0);
    assert.equal(await page.locator('#submission-attestation dt').count(), 0);
    const audit = sp.server.auditActions();
    assert.ok(audit.includes(`submission.view|form:intake reference:${story.payload}`),
              `the view is audited: ${audit.filter((a) => a.startsWith('submission.')).join(', ')}`);
    assertClean(watched);
  });

  step('5. CSV and JSON-lines export, decrypted in the browser, equal to what gpg reads', async () => {
    const page = story.staff.page;
    const csv = await download(page, () => page.click('#export-start'));
    assert.match(csv.name, /^intake-submissions-\d{8}\.csv$/);
    await page.locator('#export-status', { hasText: 'Done: 2 submissions exported' }).waitFor();
    await page.locator('#export-alert', { hasText: story.early }).waitFor();
    assert.ok(csv.text.startsWith('\uFEFF'), 'a BOM for spreadsheets');
    const lines = csv.text.slice(1).split('\r\n');
    assert.equal(lines.pop(), '', 'ends with CRLF');
    const header = lines[0].split(',');
    assert.deepEqual(header.slice(0, 4), ['"reference"', '"received_at"', '"form_id"', '"form_version"']);
    for (const column of ['full_name', 'allergies', 'phone', 'email', 'contact_methods', 'privacy_consent.accepted']) {
      assert.ok(header.includes(`"${column}"`), `column ${column} in ${lines[0]}`);
    }
    // Rows: the two readable submissions (a multi-line cell spans lines: count references).
    assert.equal(csv.text.split(`"${story.payload}"`).length, 2);
    assert.equal(csv.text.split(`"${story.target}"`).length, 2);
    assert.ok(!csv.text.includes(story.early) && !csv.text.includes('Early Patient'), 'nothing of the unreadable one');
    // The payload as literal text (RFC 4180 quoting), the formula neutralised.
    assert.ok(csv.text.includes(`"${PAYLOAD.replace(/"/g, '""')}"`), 'the payload, quoted');
    assert.ok(csv.text.includes(`"'=HYPERLINK(""http://example.invalid"",""click"")\nLatex, ""dust"""`),
              'the = cell starts with an apostrophe');
    assert.ok(csv.text.includes(`"'+12025550143"`), 'the + cell (phone, E.164) starts with an apostrophe');
    assert.ok(csv.text.includes('"email; phone"'));

    await page.check('#export-jsonl');
    const jsonl = await download(page, () => page.click('#export-start'));
    assert.match(jsonl.name, /^intake-submissions-\d{8}\.jsonl$/);
    const records = jsonl.text.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(records.map((r) => r.reference).sort(), [story.payload, story.target].sort());
    for (const record of records) {
      // What the browser decrypted and verified is exactly what gpg decrypted.
      const doc = story.gpgDocuments[record.reference];
      assert.deepEqual(record.fields, doc.fields);
      assert.deepEqual(record.attestation, doc.attestation);
      assert.equal(record.form_version, 2);
    }
    assert.equal(records.find((r) => r.reference === story.payload).fields.full_name, PAYLOAD);
    const exports = sp.server.auditActions().filter((a) => a.startsWith('submission.export|'));
    assert.ok(exports.length >= 2, `each export batch is audited: ${exports.join(', ')}`);
    await page.check('#export-csv');
    assertClean(watched);
  });

  step('6. a tampered ciphertext: an error, and none of its content', async () => {
    const page = story.staff.page;
    const bytes = sp.server.ciphertext(story.target);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] ^= 0x01;
    sp.server.setCiphertext(story.target, bytes);
    assert.equal(sp.server.gpg.decrypt(bytes).ok, false, 'gpg refuses it too');

    // The panel still shows the earlier refusal: close it, so the error below is this one's.
    await page.click('#submission-close');
    assert.equal(await page.locator('#submission-alert').textContent(), '');
    await openButton(page, story.target).click();
    await page.locator('#submission-heading', { hasText: `Submission ${story.target}` }).waitFor();
    await page.locator('#submission-alert', { hasText: UNREADABLE }).waitFor();
    assert.equal(await page.locator('#submission-fields dt').count(), 0);
    assert.equal(await page.locator('#submission-attestation dt').count(), 0);
    assert.ok(!(await page.locator('#submission').textContent()).includes('Tamper Target'));
    // The good one still opens (the key stays unlocked).
    await openButton(page, story.payload).click();
    await page.locator('#submission-fields dd', { hasText: 'Jane Roe' }).first().waitFor();
    // An export now leaves it out and names it.
    const csv = await download(page, () => page.click('#export-start'));
    assert.ok(!csv.text.includes(story.target) && !csv.text.includes('Tamper Target'));
    await page.locator('#export-alert', { hasText: story.target }).waitFor();
    // Lock: the next open asks for the passphrase again.
    await page.click('#lock');
    assert.equal(await page.locator('#key-state').textContent(), 'Key locked');
    assert.equal(await page.locator('#submission-fields dt').count(), 0, 'closed on lock');
    await openButton(page, story.payload).click();
    await page.locator('#unlock-form:not([hidden])').waitFor();
    await page.click('#unlock-cancel');
    assertClean(watched);
  });

  step('7. an idle session (aged in the database): the next action leads to sign-in', async () => {
    const page = story.staff.page;
    sp.server.sql('UPDATE sessions SET last_seen_at = last_seen_at - 10000 WHERE user_id = ' +
                  `(SELECT id FROM users WHERE email = ${sqlText(STAFF)});`);
    await page.click('#back-to-forms');  // GET /portal/api/forms -> 401
    await page.waitForURL(/\/portal\/sign-in\?reason=expired/);
    await page.locator('#sign-in-status', { hasText: 'Your session has ended. Please sign in again.' }).waitFor();
    await page.locator('#password-form:not([hidden])').waitFor();
    // The session is gone on the server too, not just in the page.
    const status = await page.evaluate(async () => (await fetch('/portal/api/session')).status);
    assert.equal(status, 401);
    // Back in with a recovery code instead of the authenticator; the key starts locked.
    await signIn(page, STAFF, STAFF_PASSWORD, { recoveryCode: story.staff.codes[4] });
    assert.equal(await page.locator('#key-state').textContent(), 'Key locked');
    const [used] = sp.server.sql('SELECT count(*) FROM recovery_codes WHERE used_at IS NOT NULL AND user_id = ' +
                                 `(SELECT id FROM users WHERE email = ${sqlText(STAFF)});`);
    assert.equal(used, '1');
    // The admin's session was not touched.
    await story.admin.page.click('nav button[data-view="users"]');
    await story.admin.page.locator('#users-body tr', { hasText: STAFF }).waitFor();
    assert.equal(new URL(story.admin.page.url()).pathname, '/portal/');
    assertClean(watched);
  });

  step('8. CSRF: no token from the portal page, and another origin on the same site: 403', async () => {
    const page = story.admin.page;
    const rejected = () => sp.server.auditActions().filter((a) => a.startsWith('csrf.rejected|')).length;
    const before = rejected();
    const noToken = await page.evaluate(async () => {
      const r = await fetch('/portal/api/users', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}',
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(noToken.status, 403);
    assert.match(noToken.body.error, /did not come from the portal page/);
    // The control: the same request with the token is refused for its body, not as CSRF.
    const withToken = await page.evaluate(async () => {
      const session = await (await fetch('/portal/api/session')).json();
      const r = await fetch('/portal/api/users', {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf },
        body: '{}',
      });
      return r.status;
    });
    assert.ok(withToken === 400 || withToken === 422, `with the token: ${withToken}`);

    // A page of another origin on the same site (https://localhost:OTHER): the browser sends
    // the SameSite=Strict cookie along, so only the Origin and token checks stand in the way.
    const cert = selfSignedCert();
    const target = `${sp.server.origin}/portal/api/users`;
    const evil = JSON.stringify({ email: 'evil@example.org', roles: ['admin'] });
    const attackerHtml = `<!doctype html><meta charset="utf-8"><title>other site</title>
<form id="f" method="post" action="${target}" enctype="text/plain">
<input type="hidden" name='${evil.slice(0, -1)},"x":"' value='"}'>
<button id="go" type="submit">go</button></form>`;
    const attacker = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(attackerHtml);
    });
    await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const other = await adminContext.newPage();
      await other.goto(`https://localhost:${attacker.address().port}/`);
      // A no-cors fetch with the cookie. The request is sent; the answer never reaches this
      // page (Cross-Origin-Resource-Policy: same-origin makes it a network error).
      const fetched = await other.evaluate(async ({ url, body }) => {
        try {
          await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include',
                             headers: { 'Content-Type': 'text/plain' }, body });
          return 'answer readable';
        } catch (error) {
          return String(error);
        }
      }, { url: target, body: evil });
      assert.equal(fetched, 'TypeError: Failed to fetch');
      // A top-level form post.
      const sent = other.waitForRequest((r) => r.url() === target);
      const answered = other.waitForResponse((r) => r.url() === target);
      await other.click('#go');
      const request = await sent;
      const response = await answered;
      assert.equal(response.status(), 403);
      const headers = await request.allHeaders();
      assert.match(headers.cookie || '', /__Host-sealpost-session=/, 'the cookie was sent (same site)');
      assert.equal(headers.origin, `https://localhost:${attacker.address().port}`);
      await other.close();
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
      cert.cleanup();
    }
    assert.equal(rejected() - before, 3, 'each refusal is audited as csrf.rejected');
    assert.deepEqual(sp.server.sql("SELECT email FROM users WHERE email LIKE 'evil%';"), [], 'no user was made');
    // The portal page still works.
    await page.click('nav button[data-view="users"]');
    await page.locator('#users-body tr', { hasText: STAFF }).waitFor();
    assertClean(watched);
  });

  step('9. the audit trail in the UI: the chain verifies, the export has what happened', async () => {
    const page = story.admin.page;
    await page.click('nav button[data-view="audit"]');
    await page.locator('#audit-body tr').first().waitFor();
    await page.click('#audit-verify');
    await page.locator('#audit-status', { hasText: /^The audit chain is intact: \d+ entries, \d+ signed checkpoints\.$/ })
        .waitFor();
    const file = await download(page, () => page.click('#audit-export'));
    assert.match(file.name, /^sealpost-audit-\d{8}\.jsonl$/);
    const entries = file.text.trim().split('\n').map((line) => JSON.parse(line));
    const actions = new Set(entries.map((e) => e.action));
    for (const action of ['user.invite', 'submission.view', 'submission.export', 'csrf.rejected']) {
      assert.ok(actions.has(action), `${action} in the audit export: ${[...actions].join(', ')}`);
    }
    assert.ok(entries.some((e) => e.action === 'submission.view' && e.actor === STAFF &&
                                  e.object.includes(story.payload)));
    // Filtered by actor in the UI.
    await page.fill('#audit-actor', STAFF);
    await page.click('#audit-form button[type="submit"]');
    await page.waitForFunction((staff) => {
      const rows = [...document.querySelectorAll('#audit-body tr')];
      return rows.length > 0 && rows.every((r) => r.children[2].textContent === staff);
    }, STAFF);
    assertClean(watched);
  });

  step('10. a reviewer keeps the key only on their computer; paging and an export of two batches',
       async () => {
    const admin = story.admin.page;
    await admin.click('nav button[data-view="users"]');
    await admin.fill('#invite-email', REVIEWER);
    // Reading needs the staff role (or form owner / admin): a reviewer alone cannot be
    // granted a form, so this reader is staff and reviewer.
    await admin.check('#invite-role-staff');
    await admin.check('#invite-role-reviewer');
    await admin.click('#invite-form button[type="submit"]');
    await admin.locator('#invite-result:not([hidden])').waitFor();
    const link = await admin.locator('#invite-link').inputValue();
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    const page = await open(context, 'reviewer portal');
    const used = new Set();
    const { keyFile, fingerprint } = await enrol(page, link, {
      email: REVIEWER, password: STAFF_PASSWORD, passphrase: STAFF_PASSPHRASE, used, localOnly: true,
    });
    assert.match(keyFile, /-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const fromFile = await openpgp.readPrivateKey({ armoredKey: keyFile });
    assert.equal(fromFile.isDecrypted(), false, 'the downloaded key is passphrase-protected');
    assert.equal(fromFile.getFingerprint().toUpperCase(), fingerprint);
    const [row] = sp.server.sql(`SELECT key_fingerprint, private_key_armored IS NULL FROM users WHERE email = ${sqlText(REVIEWER)};`);
    assert.equal(row, `${fingerprint}|1`, 'the server has no private key for the reviewer');
    story.reviewerFpr = fingerprint;

    const reviewerRow = admin.locator('#users-body tr', { hasText: REVIEWER });
    await admin.click('nav button[data-view="users"]');
    await reviewerRow.filter({ hasText: grouped(fingerprint) }).waitFor();
    const logBeforeGrant = sp.server.log().length;
    await reviewerRow.locator('button', { hasText: 'Give access' }).click();
    await admin.locator('#users-status', { hasText: /can now read new submissions/ }).waitFor();
    await sp.server.waitForLog(/event=catalog_reloaded/, logBeforeGrant);  // version 3 served

    const started = Date.now();
    const bulk = await sp.server.submitMany(BULK, (i) => [
      ['full_name', `Bulk Patient ${i}`], ['date_of_birth', '1970-01-01'], ['email', `b${i}@example.org`],
      ['visit_reason', 'followup'], ['preferred_time', 'afternoon'], ['privacy_consent', 'yes'],
      ['signature', `Bulk Patient ${i}`],
    ]);
    console.log(`${BULK} submissions through the real form endpoint in ${Date.now() - started} ms`);

    await page.click('nav button[data-view="forms"]');
    await openIntake(page);
    await page.locator('#subs-caption', { hasText: 'page 1 (50 shown)' }).waitFor();
    const firstPage = await page.locator('#subs-body tr td:first-child').allTextContents();
    await page.click('#subs-next');
    await page.locator('#subs-caption', { hasText: 'page 2 (50 shown)' }).waitFor();
    const secondPage = await page.locator('#subs-body tr td:first-child').allTextContents();
    assert.equal(new Set([...firstPage, ...secondPage]).size, 100, 'two different pages');
    await page.click('#subs-previous');
    await page.locator('#subs-caption', { hasText: 'page 1' }).waitFor();
    assert.deepEqual(await page.locator('#subs-body tr td:first-child').allTextContents(), firstPage);

    // The key file is asked for; someone else's is refused before the passphrase is tried.
    await page.fill('#search-reference', bulk[7]);
    await page.click('#search-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#subs-body tr').length === 1);
    await openButton(page, bulk[7]).click();
    await page.locator('#key-file-field:not([hidden])').waitFor();
    const other = await openpgp.generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'x@example.org' }],
      passphrase: STAFF_PASSPHRASE, format: 'armored',
    });
    await page.setInputFiles('#key-file', { name: 'other.asc', mimeType: 'text/plain', buffer: Buffer.from(other.privateKey) });
    await page.fill('#unlock-passphrase', STAFF_PASSPHRASE);
    await page.click('#unlock-submit');
    await page.locator('#unlock-alert', { hasText: 'This private key is not the key registered for your account.' }).waitFor();
    await page.setInputFiles('#key-file', { name: 'mine.asc', mimeType: 'text/plain', buffer: Buffer.from(keyFile) });
    await page.fill('#unlock-passphrase', STAFF_PASSPHRASE);
    await page.click('#unlock-submit');
    await page.locator('#submission-fields dd', { hasText: 'Bulk Patient 7' }).first().waitFor({ timeout: 30_000 });
    await page.click('#search-clear');

    // Every submission of the form: 500 in the first batch, the rest in the second.
    const csv = await download(page, () => page.click('#export-start'));
    await page.locator('#export-status', { hasText: `Done: ${BULK} submissions exported` }).waitFor();
    const rows = csv.text.slice(1).split('\r\n').filter((line) => line);
    assert.equal(rows.length, BULK + 1, 'a header and one row each');
    const references = rows.slice(1).map((r) => JSON.parse(r.split(',')[0]));
    assert.deepEqual(references.slice().sort(), bulk.slice().sort(), 'every bulk submission once');
    // The three from before the grant are named as unreadable, not silently left out.
    const alertText = await page.locator('#export-alert').textContent();
    for (const reference of [story.early, story.payload, story.target]) {
      assert.ok(alertText.includes(reference), `${reference} in: ${alertText}`);
    }
    const batches = sp.server.auditActions()
        .filter((a) => a.startsWith('submission.export|') && / count:\d+$/.test(a)).slice(-2);
    assert.match(batches[0], / count:500$/);
    assert.match(batches[1], new RegExp(` count:${BULK + 3 - 500}$`));
    assertClean(watched);
    await context.close();
  }, 240_000);

  step('11. the admin removes access, changes roles (sessions end), disables a user', async () => {
    const page = story.admin.page;
    await page.click('nav button[data-view="users"]');
    const remove = page.locator(`button[aria-label="Remove ${STAFF}'s access to New patient intake"]`);
    page.once('dialog', (dialog) => dialog.accept());
    await remove.click();
    await page.locator('#users-status', { hasText: /^Access removed\. New patient intake is now at version \d+\.$/ }).waitFor();
    const staff = story.staff.page;
    await staff.click('nav button[data-view="forms"]');
    await staff.locator('#forms-empty:not([hidden])').waitFor();

    // New roles end the person's sessions: their next click leads to sign-in.
    const row = page.locator('#users-body tr', { hasText: STAFF });
    await row.locator('button', { hasText: 'Change roles' }).click();
    await row.locator('input[type="checkbox"][value="auditor"]').check();
    await row.locator('button', { hasText: 'Save roles' }).click();
    await page.locator('#users-status', { hasText: `Roles of ${STAFF} changed. Their sessions were ended.` }).waitFor();
    await row.filter({ hasText: 'Staff, Auditor' }).waitFor();
    await staff.click('nav button[data-view="forms"]');
    await staff.waitForURL(/\/portal\/sign-in\?reason=expired/);

    // Disabling the reviewer: a new form version without their key.
    const [before] = sp.server.sql("SELECT max(version) FROM forms WHERE form_id = 'intake';");
    const reviewer = page.locator('#users-body tr', { hasText: REVIEWER });
    page.once('dialog', (dialog) => dialog.accept());
    await reviewer.locator('button', { hasText: 'Disable' }).click();
    await page.locator('#users-status', { hasText: `${REVIEWER} is disabled and signed out everywhere.` }).waitFor();
    await reviewer.filter({ hasText: 'disabled' }).waitFor();
    const [afterVersion] = sp.server.sql("SELECT max(version) FROM forms WHERE form_id = 'intake';");
    assert.equal(Number(afterVersion), Number(before) + 1, 'a new version of the granted form');
    const [granted] = sp.server.sql("SELECT granted_recipients FROM forms WHERE form_id = 'intake' " +
                                    'ORDER BY version DESC LIMIT 1;');
    assert.ok(!granted.includes(story.reviewerFpr), `the reviewer's key is not in ${granted}`);
    const [sessions] = sp.server.sql('SELECT count(*) FROM sessions WHERE user_id = ' +
                                     `(SELECT id FROM users WHERE email = ${sqlText(REVIEWER)});`);
    assert.equal(sessions, '0');
    assertClean(watched);
  });

  step('12. lockout: wrong passwords until the page says to wait; then the right one works; a late code', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await open(context, 'sign-in (lockout)');
      await page.goto(`${sp.server.origin}/portal/sign-in`);
      await page.locator('#password-form:not([hidden])').waitFor();
      const statuses = [];
      let retryAfter = 0;
      for (let i = 0; i < 10 && !retryAfter; i++) {
        await page.fill('#email', ADMIN);
        await page.fill('#password', `wrong password number ${i}`);
        const answer = page.waitForResponse((r) => r.url().endsWith('/portal/api/sign-in'));
        await page.click('#password-form button[type="submit"]');
        const response = await answer;
        statuses.push(response.status());
        if (response.status() === 429) {
          retryAfter = (await response.json()).retry_after_seconds;
        } else {
          assert.equal(response.status(), 401);
          await page.locator('#sign-in-alert', { hasText: WRONG_PASSWORD }).waitFor();
          await page.locator('#password-form button[type="submit"]:not([disabled])').waitFor();
        }
      }
      assert.deepEqual(statuses.slice(0, 3), [401, 401, 401], `statuses ${statuses}`);
      assert.equal(statuses.at(-1), 429, `statuses ${statuses}`);
      assert.ok(retryAfter >= 1, `retry_after_seconds ${retryAfter}`);
      await page.locator('#sign-in-alert', {
        hasText: new RegExp(`Too many attempts.*You can try again in ${Math.max(retryAfter, 1)} seconds\\.`),
      }).waitFor();
      assert.equal(await page.locator('#password-form button[type="submit"]').isDisabled(), true,
                   'the button waits');
      // When the wait is over, the right password is accepted.
      await page.locator('#password-form button[type="submit"]:not([disabled])')
          .waitFor({ timeout: (retryAfter + 5) * 1000 });
      await page.fill('#email', ADMIN);
      await page.fill('#password', ADMIN_PASSWORD);
      await page.click('#password-form button[type="submit"]');
      await page.locator('#code-form:not([hidden])').waitFor();
      // The code is due within 5 minutes of the password: a half-signed-in session aged past
      // that is refused, and the page starts again from the password.
      sp.server.sql("UPDATE sessions SET created_at = created_at - 301 WHERE stage = 'second_factor';");
      await page.fill('#code', await freshTotp(story.admin.secret, story.admin.used));
      await page.click('#code-form button[type="submit"]');
      await page.locator('#sign-in-alert', {
        hasText: 'Signing in took too long. Please enter your e-mail address and password again.',
      }).waitFor();
      await page.locator('#password-form:not([hidden])').waitFor();
    } finally {
      await context.close();
    }
  });

  step('no CSP violation, console error or exception on any page of the story', async () => {
    assert.ok(watched.length >= 5, `pages watched: ${watched.map((w) => w.name)}`);
    assertClean(watched);
  });
});
