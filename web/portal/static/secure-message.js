// sealpost secure-message portal (issue 9): the recipient's page. The key is the link's
// fragment (#<base64url of 32 bytes>), which the browser never sends to a server; the
// server hands out the ciphertext only after a one-time code mailed to the recipient and the
// password of their recipient account (chosen here at the first message; an authenticator
// code too if they set one up), and this page decrypts it with WebCrypto (AES-256-GCM, the
// message id as additional data). The open's answer carries a reply token, kept in memory
// only, for secure replies and the optional authenticator.
// Trust: the decrypted subject and body are whatever the sender wrote, and the ciphertext
// came from the server: both go into the page as text only (textContent), never as markup.
'use strict';

(function () {
  const { api, byId, say } = window.Sealpost;

  const status = byId('sm-status');
  const alert = byId('sm-alert');
  const request = byId('sm-request');
  const codeForm = byId('sm-code-form');
  const codeInput = byId('sm-code');
  const article = byId('sm-message');
  const passwordField = byId('sm-password-field');
  const newPasswordField = byId('sm-new-password-field');
  const totpField = byId('sm-totp-field');
  const replySection = byId('sm-reply-section');
  const replyForm = byId('sm-reply-form');
  const replyInput = byId('sm-reply');
  const totpSection = byId('sm-totp-section');
  const totpForm = byId('sm-totp-form');
  let token = '';  // the open's reply token
  let repliesLeft = 0;

  const kDamaged = 'This link is damaged: it does not hold the key to the message. ' +
                   'Open the link exactly as it is in the e-mail (copy all of it).';

  // The copy id from the path, the key from the fragment.
  const match = /^\/s\/([A-Za-z0-9_-]{43})$/.exec(window.location.pathname);
  const copyId = match ? match[1] : '';
  const fragment = window.location.hash.replace(/^#/, '');

  function base64urlToBytes(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
    const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
    try {
      const raw = atob(padded);
      return Uint8Array.from(raw, (c) => c.charCodeAt(0));
    } catch {
      return null;
    }
  }

  function base64ToBytes(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  const keyBytes = base64urlToBytes(fragment);

  function fail(message) {
    request.hidden = true;
    codeForm.hidden = true;
    say(status, '');
    say(alert, message);
  }

  function gone(error) {
    fail(error.message);
    byId('heading').textContent = 'Message no longer available';
  }

  async function sendCode() {
    say(alert, '');
    say(status, 'Sending a code…');
    try {
      const answer = await api('POST', `/api/s/${copyId}/code`, {});
      request.hidden = true;
      showAccountFields(answer.account ? 'password' : 'new_password', answer.totp === true);
      codeForm.hidden = false;
      say(status, 'We sent a one-time code to your e-mail address. Enter it below.');
      codeInput.focus();
    } catch (error) {
      if (error.status === 410) return gone(error);
      say(status, '');
      say(alert, error.message);
    }
  }

  // Which credential the open asks for with the code: the account's password (and its
  // authenticator's code) or, at the first message, a new password typed twice.
  function showAccountFields(needs, totp) {
    passwordField.hidden = needs !== 'password';
    newPasswordField.hidden = needs !== 'new_password';
    if (totp || needs === 'totp') totpField.hidden = false;
  }

  function invalid(input, message) {
    input.setAttribute('aria-invalid', 'true');
    say(alert, message);
    input.focus();
  }

  async function decrypt(answer) {
    const sealed = base64ToBytes(answer.ciphertext);
    if (sealed.length < 12 + 16) throw new Error('short');
    const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'AES-GCM' }, false,
                                              ['decrypt']);
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.slice(0, 12),
        additionalData: new TextEncoder().encode(answer.message_id), tagLength: 128 },
      key, sealed.slice(12));
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  }

  async function open(event) {
    event.preventDefault();
    for (const input of codeForm.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    const code = codeInput.value.trim();
    if (!/^[0-9]{8}$/.test(code)) return invalid(codeInput, 'Enter the 8 digits of the code.');
    const body = { code };
    if (!newPasswordField.hidden) {
      const first = byId('sm-new-password');
      const again = byId('sm-new-password-again');
      if ([...first.value].length < 12) {
        return invalid(first, 'Choose a password of at least 12 characters.');
      }
      if (first.value !== again.value) {
        return invalid(again, 'The two passwords are not the same. Type the new password again.');
      }
      body.password = first.value;
    } else if (!passwordField.hidden) {
      const password = byId('sm-password');
      if (!password.value) return invalid(password, 'Enter your password for secure messages.');
      body.password = password.value;
    }
    if (!totpField.hidden) {
      const totp = byId('sm-totp');
      if (!/^[0-9]{6}$/.test(totp.value.trim())) {
        return invalid(totp, 'Enter the 6 digits your authenticator app shows.');
      }
      body.totp = totp.value.trim();
    }
    say(alert, '');
    say(status, 'Checking…');
    let answer;
    try {
      answer = await api('POST', `/api/s/${copyId}/open`, body);
    } catch (error) {
      if (error.status === 410) return gone(error);
      say(status, '');
      const needs = error.data && error.data.needs;
      if (needs === 'password' || needs === 'new_password' || needs === 'totp') {
        showAccountFields(needs === 'totp' ? 'password' : needs, needs === 'totp');
        const target = { password: 'sm-password', new_password: 'sm-new-password',
                         totp: 'sm-totp' }[needs];
        return invalid(byId(target), error.message);
      }
      say(alert, error.message);
      return;
    }
    let content;
    try {
      content = await decrypt(answer);
    } catch {
      return fail(kDamaged);
    }
    codeForm.hidden = true;
    for (const input of codeForm.querySelectorAll('input')) input.value = '';
    say(status, answer.account_created
      ? 'Your password is set. You will need it, with a code, for your next secure messages.'
      : '');
    // Text only: whatever the sender wrote is shown, never interpreted.
    byId('sm-subject').textContent = typeof content.subject === 'string' ? content.subject : '';
    byId('sm-from').textContent = typeof answer.sender === 'string' ? `From ${answer.sender}` : '';
    byId('sm-body').textContent = typeof content.body === 'string' ? content.body : '';
    article.hidden = false;
    token = typeof answer.reply_token === 'string' ? answer.reply_token : '';
    repliesLeft = Number.isInteger(answer.replies_left) ? answer.replies_left : 0;
    showReply(typeof answer.sender === 'string' ? answer.sender : 'the sender');
    totpSection.hidden = answer.totp === true || !token;
    byId('sm-subject').setAttribute('tabindex', '-1');
    byId('sm-subject').focus();
  }

  function showReply(sender) {
    if (!token) return;
    replySection.hidden = false;
    byId('sm-reply-hint').textContent = repliesLeft > 0
      ? `Your reply goes to ${sender}, encrypted. You can send ${repliesLeft} more ` +
        `repl${repliesLeft === 1 ? 'y' : 'ies'} to this message, until 30 minutes after opening it.`
      : 'You have sent all the replies this message allows.';
    replyForm.hidden = repliesLeft <= 0;
  }

  async function sendReply(event) {
    event.preventDefault();
    replyInput.removeAttribute('aria-invalid');
    const text = replyInput.value;
    if (!text.trim()) return invalid(replyInput, 'Write your reply before sending it.');
    say(alert, '');
    say(status, 'Sending your reply…');
    try {
      const answer = await api('POST', `/api/s/${copyId}/reply`, { token, text });
      replyInput.value = '';
      repliesLeft = Number.isInteger(answer.replies_left) ? answer.replies_left : 0;
      showReply(byId('sm-from').textContent.replace(/^From /, '') || 'the sender');
      say(status, 'Your reply was sent, encrypted.');
    } catch (error) {
      say(status, '');
      say(alert, error.message);
    }
  }

  async function startTotp() {
    say(alert, '');
    try {
      const answer = await api('POST', `/api/s/${copyId}/totp`, { token });
      byId('sm-totp-secret').textContent = answer.secret;
      if (/^otpauth:\/\//.test(answer.otpauth_uri)) byId('sm-totp-uri').href = answer.otpauth_uri;
      byId('sm-totp-start-actions').hidden = true;
      totpForm.hidden = false;
      byId('sm-totp-confirm').focus();
    } catch (error) {
      say(alert, error.message);
    }
  }

  async function confirmTotp(event) {
    event.preventDefault();
    const input = byId('sm-totp-confirm');
    input.removeAttribute('aria-invalid');
    if (!/^[0-9]{6}$/.test(input.value.trim())) {
      return invalid(input, 'Enter the 6 digits your authenticator app shows.');
    }
    say(alert, '');
    try {
      await api('POST', `/api/s/${copyId}/totp/confirm`, { token, totp: input.value.trim() });
      totpForm.hidden = true;
      byId('sm-totp-secret').textContent = '';
      say(status, 'Your authenticator is set up: your next secure messages will ask for its code.');
    } catch (error) {
      invalid(input, error.message);
    }
  }

  if (!copyId) {
    fail('There is no secure message at this link.');
  } else if (!keyBytes || keyBytes.length !== 32) {
    fail(kDamaged);
  } else {
    request.hidden = false;
    byId('sm-send-code').addEventListener('click', sendCode);
    byId('sm-resend').addEventListener('click', sendCode);
    codeForm.addEventListener('submit', open);
    replyForm.addEventListener('submit', sendReply);
    byId('sm-totp-start').addEventListener('click', startTotp);
    totpForm.addEventListener('submit', confirmTotp);
  }
})();
