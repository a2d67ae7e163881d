// sealpost portal: the sign-in page. E-mail + password, then a TOTP code or a recovery code.
// Trust: what the user types goes to the server as JSON; the server's error sentences are
// shown as text.
'use strict';

(function () {
  const { api, ApiError, byId, say, markInvalid } = window.Sealpost;

  const passwordForm = byId('password-form');
  const codeForm = byId('code-form');
  const recoveryForm = byId('recovery-form');
  const alertRegion = byId('sign-in-alert');
  const statusRegion = byId('sign-in-status');
  const heading = byId('heading');

  const kReasons = {
    idle: 'You were signed out after a period of inactivity.',
    expired: 'Your session has ended. Please sign in again.',
    'signed-out': 'You are signed out.',
  };

  function show(form) {
    for (const f of [passwordForm, codeForm, recoveryForm]) f.hidden = f !== form;
    heading.textContent = form === passwordForm ? 'Sign in' : 'Confirm it is you';
    const first = form.querySelector('input');
    if (first) first.focus();
  }

  // Keeps a button disabled while a request is under way, or for a server-imposed delay.
  async function busy(form, work) {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    let delaySeconds = 0;
    try {
      await work();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      say(alertRegion, error.message);
      if (error.status === 429 && error.data && Number.isFinite(error.data.retry_after_seconds)) {
        delaySeconds = Math.min(Math.max(error.data.retry_after_seconds, 1), 3600);
        say(alertRegion, `${error.message} You can try again in ${delaySeconds} seconds.`);
      }
      return error;
    } finally {
      if (delaySeconds > 0) setTimeout(() => { button.disabled = false; }, delaySeconds * 1000);
      else button.disabled = false;
    }
    return null;
  }

  function done() {
    window.location.replace('/portal/');
  }

  // A wrong code and an expired second-factor stage both answer 401: the session tells which.
  async function afterCodeRejected(input) {
    input.value = '';
    markInvalid(input, true);
    try {
      const session = await api('GET', '/portal/api/session');
      if (session && session.stage === 'second_factor') {
        input.focus();
        return;
      }
    } catch {
      // No session any more: start again below.
    }
    say(alertRegion, 'Signing in took too long. Please enter your e-mail address and password again.');
    show(passwordForm);
  }

  passwordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    say(statusRegion, '');
    const email = byId('email');
    const password = byId('password');
    if (!email.value || !password.value) {
      say(alertRegion, 'Enter your e-mail address and your password.');
      markInvalid(email, !email.value);
      markInvalid(password, !password.value);
      return;
    }
    busy(passwordForm, async () => {
      say(alertRegion, '');
      const answer = await api('POST', '/portal/api/sign-in',
                               { email: email.value.trim(), password: password.value });
      password.value = '';
      markInvalid(email, false);
      markInvalid(password, false);
      if (answer && answer.stage === 'full') done();
      else show(codeForm);
    }).then((error) => {
      if (error) {
        password.value = '';
        password.focus();
      }
    });
  });

  codeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('code');
    const code = input.value.replace(/\s+/g, '');
    if (!/^[0-9]{6}$/.test(code)) {
      say(alertRegion, 'The code has 6 digits.');
      markInvalid(input, true);
      input.focus();
      return;
    }
    busy(codeForm, async () => {
      say(alertRegion, '');
      await api('POST', '/portal/api/sign-in/second-factor', { code });
      done();
    }).then((error) => {
      if (error && error.status === 401) afterCodeRejected(input);
    });
  });

  recoveryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('recovery-code');
    const recoveryCode = input.value.trim();
    if (!recoveryCode) {
      say(alertRegion, 'Enter one of your recovery codes.');
      markInvalid(input, true);
      return;
    }
    busy(recoveryForm, async () => {
      say(alertRegion, '');
      await api('POST', '/portal/api/sign-in/second-factor', { recovery_code: recoveryCode });
      done();
    }).then((error) => {
      if (error && error.status === 401) afterCodeRejected(input);
    });
  });

  byId('use-recovery').addEventListener('click', () => { say(alertRegion, ''); show(recoveryForm); });
  byId('use-totp').addEventListener('click', () => { say(alertRegion, ''); show(codeForm); });

  async function start() {
    const reason = new URLSearchParams(window.location.search).get('reason');
    if (reason && Object.prototype.hasOwnProperty.call(kReasons, reason)) {
      say(statusRegion, kReasons[reason]);
    }
    let session = null;
    try {
      session = await api('GET', '/portal/api/session');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 401) say(alertRegion, error.message);
    }
    if (session && session.stage === 'full') return done();
    if (session && session.stage === 'second_factor') return show(codeForm);
    show(passwordForm);
  }

  start();
})();
