// sealpost secure-message portal (issue 9): the recipient's page. The key is the link's
// fragment (#<base64url of 32 bytes>), which the browser never sends to a server; the
// server hands out the ciphertext only after a one-time code mailed to the recipient, and
// this page decrypts it with WebCrypto (AES-256-GCM, the message id as additional data).
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
      await api('POST', `/api/s/${copyId}/code`, {});
      request.hidden = true;
      codeForm.hidden = false;
      say(status, 'We sent a one-time code to your e-mail address. Enter it below.');
      codeInput.focus();
    } catch (error) {
      if (error.status === 410) return gone(error);
      say(status, '');
      say(alert, error.message);
    }
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
    const code = codeInput.value.trim();
    if (!/^[0-9]{8}$/.test(code)) {
      say(alert, 'Enter the 8 digits of the code.');
      return;
    }
    say(alert, '');
    say(status, 'Checking the code…');
    let answer;
    try {
      answer = await api('POST', `/api/s/${copyId}/open`, { code });
    } catch (error) {
      if (error.status === 410) return gone(error);
      say(status, '');
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
    say(status, '');
    // Text only: whatever the sender wrote is shown, never interpreted.
    byId('sm-subject').textContent = typeof content.subject === 'string' ? content.subject : '';
    byId('sm-from').textContent = typeof answer.sender === 'string' ? `From ${answer.sender}` : '';
    byId('sm-body').textContent = typeof content.body === 'string' ? content.body : '';
    article.hidden = false;
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
  }
})();
