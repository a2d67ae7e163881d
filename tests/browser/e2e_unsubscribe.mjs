// End to end: one-click unsubscribe (issue 11, C5; RFC 8058) in Debian's Chromium against
// the REAL sealpost binary (SEALPOST_BIN). A contact imported with a marketing
// authorisation; its link /u/<token> (the token made here from secrets/contacts.key, as
// campaigns/unsubscribe.hpp specifies, so the format is checked from outside) opened in the
// browser: the page changes nothing by being opened; a keyboard user reaches the one
// button with Tab and presses Enter; the page says it is done and the authorisation is
// revoked (`contact show`); the form's CSP holds, with no violation and no uncaught
// exception; a tampered link is the 404 page.
// Run: cd tests/browser && SEALPOST_BIN=../../build/asan/src/app/sealpost \
//        node --test --test-concurrency=1 e2e_unsubscribe.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, watch } from './lib.mjs';
import { Sealpost } from './sealpost.mjs';

function token(contactsKey, contactId, purpose) {
  const key = createHmac('sha256', contactsKey).update('sealpost-unsubscribe-v1').digest();
  const payload = Buffer.concat([Buffer.from([1]), Buffer.from(contactId, 'hex'),
                                 Buffer.from(purpose)]);
  const mac = createHmac('sha256', key).update(payload).digest().subarray(0, 16);
  return Buffer.concat([payload, mac]).toString('base64url');
}

describe('one-click unsubscribe in Chromium', { timeout: 300_000 }, () => {
  let sp; let browser; let context; let contactId;

  before(async () => {
    sp = new Sealpost();
    const csv = join(sp.root, 'contacts.csv');
    writeFileSync(csv, 'email,name\nrobin@example.org,Robin\n');
    sp.cli(['contact', 'import', '--data', sp.data, csv, '--purpose', 'marketing',
            '--consent-version', 'v1']);
    contactId = /^contact ([0-9a-f]{32})$/m.exec(
      sp.cli(['contact', 'show', '--data', sp.data, '--email', 'robin@example.org']))[1];
    await sp.start();
    ({ browser, context } = await launch());
  });

  after(async () => {
    if (browser) await browser.close();
    if (sp) {
      await sp.stop();
      await sp.close();
    }
  });

  test('the link shows a page; the button, reached by keyboard, revokes', async () => {
    const key = readFileSync(join(sp.data, 'secrets', 'contacts.key'));
    const path = `/u/${token(key, contactId, 'marketing')}`;
    const page = await context.newPage();
    const seen = await watch(page);
    const response = await page.goto(`${sp.origin}${path}`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'], /default-src 'none'/);
    assert.equal(await page.locator('h1').textContent(), 'Unsubscribe');
    // Opening the page changed nothing.
    assert.match(sp.cli(['contact', 'show', '--data', sp.data, '--email', 'robin@example.org']),
                 /authorisation marketing: granted \S+, until revoked/);
    const button = page.getByRole('button', { name: 'Unsubscribe' });
    assert.equal(await button.count(), 1);
    for (let i = 0; i < 10 && !(await button.evaluate((b) => b === document.activeElement)); ++i) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await button.evaluate((b) => b === document.activeElement), 'reachable by Tab');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    assert.equal(await page.locator('h1').textContent(), 'Unsubscribed');
    assert.match(await page.locator('[role="status"]').textContent(), /no more marketing e-mail/);
    assert.match(sp.cli(['contact', 'show', '--data', sp.data, '--email', 'robin@example.org']),
                 /authorisation marketing: granted \S+, revoked \S+ \(unsubscribe\)/);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.pageErrors, []);
    // The browser asks for /favicon.ico on its own; there is none (404), which is no error of
    // the page.
    assert.deepEqual(seen.consoleErrors.filter((e) => !e.url.endsWith('/favicon.ico')), []);

    const tampered = path.slice(0, -2) + (path.endsWith('AA') ? 'BB' : 'AA');
    const bad = await page.goto(`${sp.origin}${tampered}`);
    assert.equal(bad.status(), 404);
    await page.close();
  });
});
