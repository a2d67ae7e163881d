// Helpers for the portal's browser tests: Debian's Chromium through playwright-core, a
// TOTP generator, a collector of console errors and CSP violations, and a throw-away
// HTTPS server with a self-signed certificate.
// Trust: test-only code; talks to servers on 127.0.0.1 that the test started.
import { createHash, createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SEALPOST_CHROMIUM || '/usr/bin/chromium';

// Exactly what docs/PORTAL.md says the server sends for portal pages.
export const PORTAL_CSP =
  "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; " +
  "img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; " +
  "frame-ancestors 'none'";

export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // The test servers use self-signed certificates; downloads are what exports produce.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  return { browser, context };
}

// Records, for one page and its workers: console errors, uncaught exceptions, and CSP
// violations (both the securitypolicyviolation events of the document and Chromium's
// "Refused to ..." console reports, which are the only trace a violation in a worker
// leaves). Attach before the first navigation.
export async function watch(page) {
  const seen = { consoleErrors: [], pageErrors: [], cspViolations: [] };
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      // Reported back through the console, which the listener below reads.
      console.error(
        `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} ` +
          `(${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|CSP violation|Refused to/i.test(text)) {
      seen.cspViolations.push(text);
    } else if (message.type() === 'error') {
      seen.consoleErrors.push({ text, url: message.location().url });
    }
  });
  page.on('pageerror', (error) => {
    const text = String(error && error.message);
    if (/Content Security Policy|Refused to/i.test(text)) seen.cspViolations.push(text);
    else seen.pageErrors.push(text);
  });
  return seen;
}

// RFC 4648 base32 (upper or lower case, padding optional) -> bytes.
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits) for a base32 secret at `unixSeconds`.
export function totp(secretBase32, unixSeconds = Math.floor(Date.now() / 1000), step = 30,
                     digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / step)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

// sha384-<base64> of `bytes`, as a Subresource Integrity value.
export function sri(bytes) {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

// A self-signed certificate for 127.0.0.1 in a new temporary directory. Call cleanup().
export function selfSignedCert() {
  const dir = mkdtempSync(join(tmpdir(), 'sealpost-browser-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
