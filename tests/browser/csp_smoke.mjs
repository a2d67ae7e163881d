// The proof that the portal's front end works under the portal's CSP, without the
// backend: openpgp.js on a page and in the classic worker (importScripts), key generation,
// unlock, decrypt + verify of a signed message, refusal of tampered / unsigned / foreign /
// swapped messages, and the three pages loading with their SRI-checked scripts. Each test
// also asserts that no CSP violation and no unexpected console error occurred; a negative
// control proves the collector does see violations.
// Run: cd tests/browser && node --test --test-concurrency=1 csp_smoke.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watch } from './lib.mjs';
import { startStaticPortal } from './static_server.mjs';

// Failed API calls are expected on pages without a backend; Chromium logs each as a
// console error "Failed to load resource". Anything else is a failure.
function unexpected(consoleErrors) {
  return consoleErrors.filter(
    (e) => !(/^Failed to load resource/.test(e.text) &&
             (e.url.includes('/portal/api/') || e.url.endsWith('/favicon.ico'))));
}

async function resultOf(page) {
  const result = page.locator('#result[data-done="true"]');
  await result.waitFor({ timeout: 60_000 });
  return JSON.parse(await result.textContent());
}

describe('portal front end under the portal CSP', () => {
  let server;
  let browser;
  let context;

  before(async () => {
    server = await startStaticPortal({
      api: async ({ method, path, body }) => {
        if (method === 'POST' && path === '/portal/api/enrol/start') {
          return body && body.token === 'good-token'
            ? { status: 200, json: { email: 'new.staff@example.org', csrf: 'csrf-1' } }
            : { status: 400, json: { error: 'This enrolment link is not valid any more.' } };
        }
        return { status: 401, json: { error: 'You are not signed in.' } };
      },
    });
    ({ browser, context } = await launch());
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('openpgp.js in the page and in worker.js: generate, unlock, decrypt, verify', async () => {
    const page = await context.newPage();
    const seen = await watch(page);
    await page.goto(`${server.origin}/smoke/smoke.html`);
    const results = await resultOf(page);
    const { generateMs, ...checks } = results;
    assert.equal(checks.exception, undefined, `exception: ${checks.exception}`);
    const failed = Object.entries(checks).filter(([, v]) => v !== 'ok');
    assert.deepEqual(failed, [], 'every in-browser check passes');
    assert.ok(Object.keys(checks).length >= 25, `ran ${Object.keys(checks).length} checks`);
    assert.ok(server.requests.includes('GET /portal/static/worker.js'), 'the worker was loaded');
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);
    assert.deepEqual(seen.pageErrors, []);
    console.log(`# key generation in the worker took ${generateMs} ms; ${Object.keys(checks).length} checks`);
    await page.close();
  });

  test('negative control: the collector sees violations in the page and in a worker', async () => {
    const page = await context.newPage();
    const seen = await watch(page);
    await page.goto(`${server.origin}/smoke/violation.html`);
    const results = await resultOf(page);
    assert.match(results.pageEval, /^blocked: EvalError/);
    assert.match(results.workerEval, /^blocked: EvalError/);
    assert.notEqual(results.inlineTitle, 'inline script ran');
    const joined = seen.cspViolations.join('\n');
    assert.match(joined, /unsafe-eval|script-src/, 'eval reported');
    assert.match(joined, /inline/i, 'inline script reported');
    assert.match(joined, /style/i, 'inline style reported');
    // The worker's own report (its securitypolicyviolation listener, as in worker.js).
    assert.match(joined, /CSP violation in worker: script-src blocked eval/,
                 `the worker's eval is reported:\n${joined}`);
    await page.close();
  });

  for (const [route, name] of [['/portal/sign-in', 'sign-in'], ['/portal/enrol', 'enrol'],
    ['/portal/', 'app']]) {
    test(`${name} page: scripts pass SRI and run, no CSP violation`, async () => {
      const page = await context.newPage();
      const seen = await watch(page);
      await page.goto(`${server.origin}${route}`);
      await page.waitForLoadState('load');
      // common.js ran (SRI accepted) if the page's own script could use it; each page shows
      // it in its own way without a backend.
      if (name === 'sign-in') {
        await page.locator('#password-form:not([hidden])').waitFor({ timeout: 10_000 });
      } else if (name === 'enrol') {
        await page.locator('#enrol-alert').filter({ hasText: /link/i }).waitFor({ timeout: 10_000 });
      } else {
        // No session: the app sends the user to the sign-in page.
        await page.waitForURL(/\/portal\/sign-in/, { timeout: 10_000 });
        await page.locator('#password-form:not([hidden])').waitFor({ timeout: 10_000 });
      }
      assert.deepEqual(seen.cspViolations, []);
      assert.deepEqual(unexpected(seen.consoleErrors), []);
      assert.deepEqual(seen.pageErrors, []);
      await page.close();
    });
  }

  test('enrol page: the token leaves the address bar at once and is sent to enrol/start', async () => {
    const page = await context.newPage();
    const seen = await watch(page);
    await page.goto(`${server.origin}/portal/enrol#t=good-token`);
    await page.locator('#step-password:not([hidden])').waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).hash, '');
    assert.match(await page.locator('#enrol-email').textContent(), /new\.staff@example\.org/);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(unexpected(seen.consoleErrors), []);
    await page.close();
  });
});
