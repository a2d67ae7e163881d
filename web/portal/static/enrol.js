// sealpost portal: enrolment. The one-time token arrives in the URL fragment and is dropped
// from the address bar at once; then password, authenticator (TOTP), recovery codes, and
// the OpenPGP key pair, made in the worker.
// Trust: the token and everything typed go to our server as JSON; the server's answers are
// shown as text. The key passphrase never leaves this browser.
'use strict';

(function () {
  const { api, ApiError, byId, say, markInvalid, download, groupFingerprint, PortalWorker } =
      window.Sealpost;

  // Read the token, then remove it from the address bar and the history entry before
  // anything else can happen (a reload, a bookmark, a screenshot of the address bar).
  const token = new URLSearchParams(window.location.hash.slice(1)).get('t') || '';
  if (window.location.hash) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }

  const kMinPassword = 12;  // a hint only: the server decides
  const kMinPassphrase = 12;
  const alertRegion = byId('enrol-alert');
  const statusRegion = byId('enrol-status');
  const steps = ['start', 'password', 'totp', 'recovery', 'key', 'done'];
  let email = '';

  function showStep(name) {
    for (const step of steps) byId(`step-${step}`).hidden = step !== name;
    for (const item of byId('steps').querySelectorAll('li')) {
      if (item.dataset.step === name) item.setAttribute('aria-current', 'step');
      else item.removeAttribute('aria-current');
    }
    const heading = byId(`step-${name}`).querySelector('h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  function fail(error) {
    if (!(error instanceof ApiError)) throw error;
    say(alertRegion, error.message);
  }

  function counter(input, output, minimum) {
    const update = () => {
      const n = input.value.length;
      output.textContent = n === 0 ? '' : n < minimum ? `(${n} so far)` : `(${n} characters)`;
    };
    input.addEventListener('input', update);
  }

  async function withButton(button, work) {
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  // --- step 1: password -------------------------------------------------------------
  counter(byId('new-password'), byId('password-count'), kMinPassword);
  byId('password-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const first = byId('new-password');
    const second = byId('new-password-again');
    say(alertRegion, '');
    markInvalid(first, false);
    markInvalid(second, false);
    if (first.value.length < kMinPassword) {
      say(alertRegion, `The password needs at least ${kMinPassword} characters.`);
      markInvalid(first, true);
      first.focus();
      return;
    }
    if (first.value !== second.value) {
      say(alertRegion, 'The two passwords are not the same.');
      markInvalid(second, true);
      second.focus();
      return;
    }
    withButton(event.submitter || byId('password-form').querySelector('button'), async () => {
      try {
        await api('POST', '/portal/api/enrol/password', { password: first.value });
      } catch (error) {
        fail(error);
        if (error.status === 422) markInvalid(first, true);
        return;
      }
      first.value = '';
      second.value = '';
      await startTotp();
    });
  });

  // --- step 2: authenticator ----------------------------------------------------------
  async function startTotp() {
    let answer;
    try {
      answer = await api('POST', '/portal/api/enrol/totp');
    } catch (error) {
      fail(error);
      return;
    }
    byId('totp-secret').textContent = String(answer.secret || '').replace(/(.{4})(?=.)/g, '$1 ');
    // The QR code of the secret just issued: the server keeps the pending one, and sends
    // every response with Cache-Control: no-store, so this is never a stale image.
    byId('totp-qr').src = '/portal/api/enrol/totp.svg';
    showStep('totp');
  }

  byId('totp-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('totp-code');
    const code = input.value.replace(/\s+/g, '');
    say(alertRegion, '');
    if (!/^[0-9]{6}$/.test(code)) {
      say(alertRegion, 'The code has 6 digits.');
      markInvalid(input, true);
      input.focus();
      return;
    }
    withButton(byId('totp-form').querySelector('button'), async () => {
      let answer;
      try {
        answer = await api('POST', '/portal/api/enrol/totp/confirm', { code });
      } catch (error) {
        fail(error);
        input.value = '';
        markInvalid(input, true);
        input.focus();
        return;
      }
      markInvalid(input, false);
      byId('totp-secret').textContent = '';
      byId('totp-qr').removeAttribute('src');
      showRecoveryCodes(Array.isArray(answer.recovery_codes) ? answer.recovery_codes : []);
    });
  });

  // --- step 3: recovery codes ----------------------------------------------------------
  let recoveryCodes = [];
  function showRecoveryCodes(codes) {
    recoveryCodes = codes.map(String);
    const list = byId('recovery-codes');
    list.replaceChildren(...recoveryCodes.map((code) => {
      const item = document.createElement('li');
      item.textContent = code;
      return item;
    }));
    showStep('recovery');
  }

  byId('download-codes').addEventListener('click', () => {
    const text = `sealpost recovery codes for ${email}\r\n` +
        'Each code works once, instead of an authenticator code.\r\n\r\n' +
        `${recoveryCodes.join('\r\n')}\r\n`;
    download(new Blob([text], { type: 'text/plain' }), 'sealpost-recovery-codes.txt');
  });
  byId('codes-saved').addEventListener('change', (event) => {
    byId('codes-continue').disabled = !event.target.checked;
  });
  byId('codes-continue').addEventListener('click', () => {
    // Shown once: gone from the page when the person moves on.
    recoveryCodes = [];
    byId('recovery-codes').replaceChildren();
    showStep('key');
  });

  // --- step 4: the key pair ------------------------------------------------------------
  counter(byId('passphrase'), byId('passphrase-count'), kMinPassphrase);
  let generated = null;  // {publicKey, privateKey (passphrase-protected), fingerprint}

  async function uploadKey(localOnly) {
    const answer = await api('POST', '/portal/api/enrol/key', {
      public_key: generated.publicKey,
      private_key: localOnly ? null : generated.privateKey,
    });
    const fingerprint = answer && typeof answer.fingerprint === 'string' ? answer.fingerprint : '';
    if (fingerprint.replace(/\s+/g, '').toUpperCase() !== generated.fingerprint) {
      say(alertRegion, 'The server registered a different key fingerprint than the key made here. ' +
                           'Do not use this account; tell your administrator.');
      return false;
    }
    byId('done-fingerprint').textContent = groupFingerprint(generated.fingerprint);
    generated = null;
    say(statusRegion, '');
    showStep('done');
    setTimeout(() => window.location.replace('/portal/'), 4000);
    return true;
  }

  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const first = byId('passphrase');
    const second = byId('passphrase-again');
    const localOnly = byId('local-only').checked;
    say(alertRegion, '');
    markInvalid(first, false);
    markInvalid(second, false);
    if (first.value.length < kMinPassphrase) {
      say(alertRegion, `The passphrase needs at least ${kMinPassphrase} characters.`);
      markInvalid(first, true);
      first.focus();
      return;
    }
    if (first.value !== second.value) {
      say(alertRegion, 'The two passphrases are not the same.');
      markInvalid(second, true);
      second.focus();
      return;
    }
    const button = byId('generate');
    withButton(button, async () => {
      say(statusRegion, 'Making your key. This takes a few seconds…');
      const worker = new PortalWorker();
      try {
        generated = await worker.call('generate', {
          email, passphrase: first.value, serverNowMs: window.Sealpost.serverNow(),
        });
      } catch (error) {
        say(statusRegion, '');
        say(alertRegion, error.message);
        return;
      } finally {
        worker.terminate();  // the passphrase went no further than this worker
      }
      first.value = '';
      second.value = '';
      byId('key-form').hidden = true;
      if (localOnly) {
        say(statusRegion, 'Your key is ready. Save the private key file, then finish.');
        byId('key-download').hidden = false;
        byId('download-key').focus();
        return;
      }
      say(statusRegion, 'Your key is ready. Registering it…');
      try {
        await uploadKey(false);
      } catch (error) {
        say(statusRegion, '');
        fail(error);
        byId('key-form').hidden = false;
      }
    });
  });

  byId('download-key').addEventListener('click', () => {
    if (!generated) return;
    const name = `sealpost-private-key-${email.replace(/[^A-Za-z0-9._-]+/g, '_')}.asc`;
    download(new Blob([generated.privateKey], { type: 'application/pgp-keys' }), name);
  });
  byId('key-saved').addEventListener('change', (event) => {
    byId('key-finish').disabled = !event.target.checked;
  });
  byId('key-finish').addEventListener('click', (event) => {
    if (!generated) return;
    withButton(event.target, async () => {
      say(statusRegion, 'Registering your public key…');
      try {
        await uploadKey(true);
      } catch (error) {
        say(statusRegion, '');
        fail(error);
      }
    });
  });

  // --- start ---------------------------------------------------------------------------
  async function start() {
    if (token) {
      try {
        const answer = await api('POST', '/portal/api/enrol/start', { token });
        email = String(answer.email || '');
      } catch (error) {
        fail(error);
        byId('step-start').hidden = true;
        return;
      }
    } else {
      // No token: a reload after the link was used. An enrolling session may still be here.
      let session = null;
      try {
        session = await api('GET', '/portal/api/session');
      } catch {
        session = null;
      }
      if (!session || session.stage !== 'enrolling') {
        say(alertRegion, 'This page needs the enrolment link from your invitation. ' +
                             'If you have used the link already, ask your administrator for a new one.');
        byId('step-start').hidden = true;
        return;
      }
      email = String(session.email || '');
      byId('enrol-email').textContent = email;
      // Resume where the enrolment stopped (the server says which steps are done).
      const done = session.enrolment || {};
      if (done.totp_confirmed) {
        say(statusRegion, 'Your enrolment was interrupted. Please continue with your key.');
        showStep('key');
        return;
      }
      if (done.password_set) {
        say(statusRegion, 'Your enrolment was interrupted. Please continue with your authenticator app.');
        await startTotp();
        return;
      }
      say(statusRegion, 'Your enrolment was interrupted. Please continue from the password step.');
    }
    byId('enrol-email').textContent = email;
    showStep('password');
  }

  start();
})();
