// sealpost portal: the decryption worker. A classic Worker (importScripts), one per tab.
// Trust: ciphertext, keys and the server's public key come from the network and are
// untrusted until openpgp has decrypted and verified them; the passphrase comes from the
// person at the keyboard.
//
// SECURITY: the unlocked private key exists only in this worker's memory, for as long as
// the tab keeps the worker (the page terminates it on lock, idle time-out and sign-out).
// The passphrase is used once to decrypt the key and is not kept. Plaintext leaves this
// worker only as the parsed fields of a message whose signature by the server's key
// verified and whose signed reference and form match what the page asked for: a message
// that fails any check yields an error and nothing of its content.
'use strict';

// A CSP violation in a worker leaves no trace in the page; report it on this worker's
// console (the browser tests watch for it). Registered before openpgp.js loads.
self.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation in worker: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
});

importScripts('/portal/static/openpgp.min.js');

// Bounds on what we parse. A staff key is a few KiB; the API caps bodies at 64 KiB.
const kMaxKeyChars = 64 * 1024;
// A submission is at most a few hundred KiB of ciphertext; 8 MiB of base64 leaves room.
const kMaxCiphertextChars = 8 * 1024 * 1024;
const kMaxItemsPerCall = 500;
const kMinPassphraseChars = 12;
const kFormat = 'sealpost-submission/1';
// Clocks of clinic computers drift. A signature the server made "in the future" of this
// computer's clock would fail openpgp's check, so verification runs at now + this much.
// (The signer is our own server; the check protects nothing here.)
const kClockToleranceMs = 24 * 3600 * 1000;
// New keys are dated this far before the earlier of this computer's and the server's
// clocks: RNP on the server refuses a key whose self-signatures are from its future.
const kKeyBackdateMs = 3600 * 1000;

// Keys we make: v4, EdDSA (legacy) signing primary + ECDH Curve25519 subkey, the private
// key protected with iterated-and-salted S2K + AES-256. The server reads staff keys with
// RNP 0.16 and gpg 2.2 must be able to read exports; neither reads RFC 9580 (v6 or
// X25519/Ed25519-algorithm) keys, so the defaults are pinned rather than inherited.
const kKeyConfig = {
  v6Keys: false,
  aeadProtect: false,
  s2kType: openpgp.enums.s2k.iterated,
};

let privateKey = null;  // unlocked openpgp.PrivateKey, or null when locked
let serverKey = null;   // openpgp.PublicKey of the server's signing key

class UserError extends Error {}

function requireString(value, what, max) {
  if (typeof value !== 'string' || value.length === 0) throw new UserError(`${what} is missing.`);
  if (value.length > max) throw new UserError(`${what} is too long.`);
  return value;
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function fingerprintOf(key) {
  return key.getFingerprint().toUpperCase();
}

function sameFingerprint(a, b) {
  const norm = (s) => String(s).replace(/\s+/g, '').toUpperCase();
  return norm(a) === norm(b);
}

async function generate({ email, passphrase, serverNowMs }) {
  requireString(email, 'The e-mail address', 320);
  requireString(passphrase, 'The passphrase', 1024);
  if (passphrase.length < kMinPassphraseChars) {
    throw new UserError(`The passphrase must have at least ${kMinPassphraseChars} characters.`);
  }
  const now = Number.isFinite(serverNowMs) ? Math.min(Date.now(), serverNowMs) : Date.now();
  const generated = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ email }],
    passphrase,
    date: new Date(now - kKeyBackdateMs),
    format: 'armored',
    config: kKeyConfig,
  });
  // Check what we are about to hand out: the private key must really be protected, and it
  // must belong to the public key we upload.
  const publicKey = await openpgp.readKey({ armoredKey: generated.publicKey });
  const encrypted = await openpgp.readPrivateKey({ armoredKey: generated.privateKey });
  if (encrypted.isDecrypted()) throw new Error('generated private key is not protected');
  if (!sameFingerprint(fingerprintOf(publicKey), fingerprintOf(encrypted))) {
    throw new Error('generated key pair does not match');
  }
  return {
    publicKey: generated.publicKey,
    privateKey: generated.privateKey,
    fingerprint: fingerprintOf(publicKey),
  };
}

async function unlock({ armoredKey, passphrase, expectedFingerprint }) {
  requireString(armoredKey, 'The private key', kMaxKeyChars);
  requireString(passphrase, 'The passphrase', 1024);
  let key;
  try {
    key = await openpgp.readPrivateKey({ armoredKey });
  } catch {
    throw new UserError('This is not an OpenPGP private key.');
  }
  if (expectedFingerprint && !sameFingerprint(fingerprintOf(key), expectedFingerprint)) {
    throw new UserError('This private key is not the key registered for your account.');
  }
  // A key without a passphrase would make the key file alone enough to read everything.
  if (key.isDecrypted()) throw new UserError('This private key is not protected by a passphrase.');
  try {
    privateKey = await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    privateKey = null;
    throw new UserError('The passphrase is wrong.');
  }
  return { fingerprint: fingerprintOf(privateKey) };
}

async function setServerKey({ armoredKey, fingerprint }) {
  requireString(armoredKey, "The server's key", kMaxKeyChars);
  let key;
  try {
    key = await openpgp.readKey({ armoredKey });
  } catch {
    throw new UserError("The server's signing key could not be read.");
  }
  if (key.isPrivate()) throw new UserError("The server's signing key could not be read.");
  if (fingerprint && !sameFingerprint(fingerprintOf(key), fingerprint)) {
    throw new UserError("The server's signing key does not match its fingerprint.");
  }
  serverKey = key;
  return { fingerprint: fingerprintOf(key) };
}

const kUnreadable =
  'This submission could not be decrypted, or its signature did not verify. None of it is shown.';

// Decrypts, verifies and checks one item; throws on any failure.
async function decryptOne(item, formId) {
  const reference = requireString(item.reference, 'The reference', 64);
  const ciphertext = requireString(item.ciphertext, 'The ciphertext', kMaxCiphertextChars);
  const message = await openpgp.readMessage({ binaryMessage: base64ToBytes(ciphertext) });
  const { data, signatures } = await openpgp.decrypt({
    message,
    decryptionKeys: privateKey,
    verificationKeys: [serverKey],
    expectSigned: true,
    format: 'utf8',
    date: new Date(Date.now() + kClockToleranceMs),
  });
  // expectSigned already throws unless a signature by serverKey verified; check again
  // rather than rely on one flag of a library's API.
  let verified = false;
  for (const signature of signatures) {
    try {
      if (await signature.verified) verified = true;
    } catch {
      // A second, unverifiable signature does not undo a good one by the server's key.
    }
  }
  if (!verified) throw new Error('no verified signature');
  const document = JSON.parse(data);
  const attestation = document && document.attestation;
  if (document.format !== kFormat || typeof attestation !== 'object' || attestation === null ||
      typeof document.fields !== 'object' || document.fields === null ||
      Array.isArray(document.fields)) {
    throw new Error('unexpected document');
  }
  // The signature covers the attestation: a server that swapped one ciphertext for another
  // would be caught here.
  if (attestation.reference !== reference) throw new Error('signed reference differs');
  if (formId && attestation.form_id !== formId) throw new Error('signed form differs');
  return { reference, fields: document.fields, attestation };
}

async function decrypt({ items, formId }) {
  if (!privateKey) throw new UserError('Unlock your key first.');
  if (!serverKey) throw new UserError("The server's signing key is not loaded.");
  if (!Array.isArray(items) || items.length > kMaxItemsPerCall) {
    throw new UserError('Too many submissions at once.');
  }
  const results = [];
  for (const item of items) {
    const reference = item && typeof item.reference === 'string' ? item.reference : '';
    try {
      results.push(await decryptOne(item, formId));
    } catch (error) {
      // The reason goes to the console of this tab only (no plaintext is in it).
      // The name only: a parser's message can quote the plaintext it choked on.
      console.warn('sealpost worker: submission', reference, 'rejected:', String(error && error.name));
      results.push({ reference, error: kUnreadable });
    }
  }
  return results;
}

async function lock() {
  privateKey = null;
  return {};
}

const handlers = { generate, unlock, setServerKey, decrypt, lock };

self.addEventListener('message', async (event) => {
  const { id, op, args } = event.data || {};
  const handler = Object.prototype.hasOwnProperty.call(handlers, op) ? handlers[op] : null;
  if (!handler) {
    self.postMessage({ id, ok: false, error: 'Unknown request.' });
    return;
  }
  try {
    const result = await handler(args || {});
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    const message = error instanceof UserError ? error.message : 'The operation failed.';
    if (!(error instanceof UserError)) console.warn('sealpost worker:', op, String(error && error.name));
    self.postMessage({ id, ok: false, error: message });
  }
});
