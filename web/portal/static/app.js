// sealpost portal: the app (forms, submissions, export, users, audit trail).
// Trust: API answers come from our server; every value a person typed (form fields, e-mail
// addresses, audit objects) is put into the page with textContent only (Sealpost.el), never
// as markup. Decryption happens in worker.js; this page sees a submission's fields only
// after the worker has verified the server's signature over them.
//
// SECURITY: the unlocked key lives in the worker; this page terminates the worker on lock,
// sign-out, idle time-out, session end and page hide. Decrypted fields stay in the DOM
// only while a submission is open, and are removed on close, lock and sign-out.
'use strict';

(function () {
  const S = window.Sealpost;
  const { el, byId, say } = S;

  const kRoles = [
    ['admin', 'Administrator', 'manages users and access to forms'],
    ['form_owner', 'Form owner', 'grants access to the forms they own'],
    ['staff', 'Staff', 'reads the submissions of the forms granted to them'],
    ['reviewer', 'Reviewer', 'reads granted submissions'],
    ['auditor', 'Auditor', 'reads and verifies the audit trail'],
  ];
  const kRoleNames = new Map(kRoles.map(([id, name]) => [id, name]));
  const kPageSize = 50;
  const kExportBatch = 500;  // the API's maximum
  const kMaxKeyFileBytes = 64 * 1024;

  const state = {
    session: null,
    forms: [],
    form: null,        // the form being looked at
    subsAfter: [],     // the `after` of every page before the current one
    subsCurrent: undefined,
    subsNext: undefined,
    auditAfter: [],
    auditCurrent: undefined,
    auditNext: undefined,
    worker: null,      // Sealpost.PortalWorker while unlocked
    myKey: null,       // GET /portal/api/me/key
    serverKey: null,   // GET /portal/api/server-key
    pendingAfterUnlock: null,
    exporting: null,   // {cancelled} while an export runs
    lastActivity: Date.now(),
  };

  // ---------------------------------------------------------------------------------
  // Session: every API call goes through call(); a 401 ends the page's session.
  // ---------------------------------------------------------------------------------

  let ending = false;
  function endSession(reason) {
    if (ending) return;
    ending = true;
    lock();
    clearSubmission();
    window.location.replace(`/portal/sign-in?reason=${encodeURIComponent(reason)}`);
  }

  async function call(method, path, body) {
    try {
      return await S.api(method, path, body);
    } catch (error) {
      if (error instanceof S.ApiError && error.status === 401) endSession('expired');
      throw error;
    }
  }

  // Shows an error in `region`: the server's sentence for API errors, else our own text.
  function report(region, error) {
    if (error instanceof S.ApiError) say(region, error.message);
    else if (error instanceof Error) say(region, error.message);
    else say(region, 'Something went wrong.');
  }

  function hasRole(...roles) {
    const mine = (state.session && state.session.roles) || [];
    return roles.some((role) => mine.includes(role));
  }

  // Idle time-out: the server ends the session after idle_timeout_seconds without a
  // request; this page also locks the key and leaves after that long without a person at
  // the keyboard (an export under way counts as activity).
  function watchIdle() {
    const touch = () => { state.lastActivity = Date.now(); };
    for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
      window.addEventListener(type, touch, { passive: true, capture: true });
    }
    setInterval(() => {
      const idleMs = (Number(state.session.idle_timeout_seconds) || 900) * 1000;
      const expiresAt = Number(state.session.expires_at);
      if (Date.now() - state.lastActivity > idleMs) {
        S.api('POST', '/portal/api/sign-out').catch(() => {});
        endSession('idle');
      } else if (Number.isFinite(expiresAt) && expiresAt > 0 && Date.now() / 1000 > expiresAt) {
        endSession('expired');
      }
    }, 10 * 1000);
  }

  // ---------------------------------------------------------------------------------
  // Views
  // ---------------------------------------------------------------------------------

  const views = ['forms', 'form', 'users', 'audit'];
  function showView(name) {
    for (const view of views) byId(`view-${view}`).hidden = view !== name;
    byId('keybar').hidden = !(name === 'forms' || name === 'form');
    if (!(name === 'forms' || name === 'form')) byId('unlock-form').hidden = true;
    const navName = name === 'form' ? 'forms' : name;
    for (const button of byId('nav').querySelectorAll('button[data-view]')) {
      if (button.dataset.view === navName) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
    }
    say(byId('app-alert'), '');
    say(byId('app-status'), '');
  }

  function rolesText(roles) {
    return (roles || []).map((role) => kRoleNames.get(role) || role).join(', ');
  }

  // ---------------------------------------------------------------------------------
  // The key: unlock / lock
  // ---------------------------------------------------------------------------------

  function showKeyState() {
    const unlocked = state.worker !== null;
    const badge = byId('key-state');
    badge.textContent = unlocked ? 'Key unlocked in this tab' : 'Key locked';
    badge.className = unlocked ? 'badge ok' : 'badge';
    byId('unlock-open').hidden = unlocked;
    byId('lock').hidden = !unlocked;
  }

  function lock() {
    if (state.worker) {
      state.worker.terminate();  // the key goes with the worker
      state.worker = null;
    }
    state.pendingAfterUnlock = null;
    if (state.exporting) state.exporting.cancelled = true;
    if (!ending) showKeyState();
  }

  async function openUnlock(then) {
    state.pendingAfterUnlock = then || null;
    const form = byId('unlock-form');
    say(byId('unlock-alert'), '');
    if (!state.myKey) {
      try {
        state.myKey = await call('GET', '/portal/api/me/key');
      } catch (error) {
        report(byId('app-alert'), error);
        return;
      }
    }
    byId('key-file-field').hidden = typeof state.myKey.private_key === 'string';
    form.hidden = false;
    (byId('key-file-field').hidden ? byId('unlock-passphrase') : byId('key-file')).focus();
  }

  async function readKeyFile() {
    const input = byId('key-file');
    const file = input.files && input.files[0];
    if (!file) throw new Error('Choose your private key file.');
    if (file.size > kMaxKeyFileBytes) throw new Error('That file is too large to be a key file.');
    return file.text();
  }

  async function unlock() {
    const alertRegion = byId('unlock-alert');
    const passphraseInput = byId('unlock-passphrase');
    say(alertRegion, '');
    let armoredKey;
    try {
      armoredKey = typeof state.myKey.private_key === 'string' ? state.myKey.private_key
                                                               : await readKeyFile();
    } catch (error) {
      report(alertRegion, error);
      return;
    }
    if (!passphraseInput.value) {
      say(alertRegion, 'Enter your key passphrase.');
      S.markInvalid(passphraseInput, true);
      passphraseInput.focus();
      return;
    }
    const worker = new S.PortalWorker();
    try {
      if (!state.serverKey) state.serverKey = await call('GET', '/portal/api/server-key');
      await worker.call('setServerKey', {
        armoredKey: state.serverKey.public_key, fingerprint: state.serverKey.fingerprint,
      });
      const passphrase = passphraseInput.value;
      passphraseInput.value = '';
      await worker.call('unlock', {
        armoredKey, passphrase, expectedFingerprint: state.myKey.fingerprint,
      });
    } catch (error) {
      worker.terminate();
      passphraseInput.value = '';
      S.markInvalid(passphraseInput, true);
      report(alertRegion, error);
      passphraseInput.focus();
      return;
    }
    S.markInvalid(passphraseInput, false);
    byId('key-file').value = '';
    state.worker = worker;
    byId('unlock-form').hidden = true;
    showKeyState();
    const then = state.pendingAfterUnlock;
    state.pendingAfterUnlock = null;
    if (then) then();
  }

  // ---------------------------------------------------------------------------------
  // Forms and submissions
  // ---------------------------------------------------------------------------------

  async function loadForms() {
    try {
      const forms = await call('GET', '/portal/api/forms');
      state.forms = Array.isArray(forms) ? forms : [];
    } catch (error) {
      report(byId('app-alert'), error);
      return;
    }
    const body = byId('forms-body');
    body.replaceChildren(...state.forms.map((form) => {
      const open = el('button', { type: 'button', class: 'secondary' }, 'Open');
      open.addEventListener('click', () => openForm(form));
      return el('tr', {},
        el('td', {}, el('strong', {}, form.title || form.id), el('br'), el('span', { class: 'mono muted' }, form.id)),
        el('td', { class: 'num' }, String(form.version ?? '')),
        el('td', { class: 'num' }, String(form.submissions ?? '')),
        el('td', {}, form.readable ? 'Can read submissions' : 'Can see, not read'),
        el('td', {}, form.readable ? open : ''));
    }));
    byId('forms-empty').hidden = state.forms.length > 0;
  }

  function searchFilters() {
    return {
      from: S.dateToUnix(byId('search-from').value, false),
      to: S.dateToUnix(byId('search-to').value, true),
    };
  }

  function openForm(form) {
    state.form = form;
    clearSubmission();
    byId('form-heading').textContent = form.title || form.id;
    byId('search-form').reset();
    resetExport();
    showView('form');
    loadSubmissions(undefined, []);
  }

  async function loadSubmissions(after, stack) {
    const form = state.form;
    const alertRegion = byId('form-alert');
    say(alertRegion, '');
    const reference = byId('search-reference').value.trim();
    let page;
    try {
      page = await call('GET', `/portal/api/forms/${encodeURIComponent(form.id)}/submissions` +
                                   S.query({ ...searchFilters(), reference, after, limit: kPageSize }));
    } catch (error) {
      report(alertRegion, error);
      return;
    }
    if (state.form !== form) return;  // the person moved on meanwhile
    state.subsAfter = stack;
    state.subsCurrent = after;
    state.subsNext = page.next_after ?? undefined;
    const items = Array.isArray(page.items) ? page.items : [];
    byId('subs-body').replaceChildren(...items.map((item) => {
      const open = el('button', { type: 'button', class: 'secondary' }, 'Open');
      open.setAttribute('aria-label', `Open submission ${item.reference}`);
      open.addEventListener('click', () => openSubmission(item.reference));
      return el('tr', {},
        el('td', { class: 'mono' }, item.reference),
        el('td', {}, S.formatTime(item.received_at)),
        el('td', { class: 'num' }, S.formatSize(item.size)),
        el('td', { class: 'num' }, String(item.form_version ?? '')),
        el('td', {}, open));
    }));
    byId('subs-empty').hidden = items.length > 0;
    byId('subs-caption').textContent =
        `Submissions, page ${stack.length + 1}` + (items.length ? ` (${items.length} shown)` : '');
    byId('subs-previous').disabled = stack.length === 0;
    byId('subs-next').disabled = state.subsNext === undefined || state.subsNext === null ||
                                 state.subsNext === '' || items.length === 0;
  }

  function clearSubmission() {
    byId('submission-fields').replaceChildren();
    byId('submission-attestation').replaceChildren();
    byId('attestation-heading').hidden = true;
    say(byId('submission-alert'), '');
    byId('submission').hidden = true;
  }

  // A field value for the screen: text only.
  function describe(value) {
    if (value === null || value === undefined) return '';
    if (Array.isArray(value)) return value.map(describe).join(', ');
    if (typeof value === 'object') {
      if ('accepted' in value && 'version' in value) {
        return `${value.accepted === true ? 'Accepted' : 'Not accepted'} (version ${describe(value.version)})`;
      }
      if ('name' in value && 'signed_at' in value) {
        return `${describe(value.name)}, signed ${S.formatTime(value.signed_at)}`;
      }
      return Object.entries(value).map(([k, v]) => `${k}: ${describe(v)}`).join('; ');
    }
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    return String(value);
  }

  function describeChecks(checks) {
    if (!checks || typeof checks !== 'object') return '';
    const parts = [];
    if ('token' in checks) parts.push(`form token ${describe(checks.token)}`);
    if ('honeypot_empty' in checks) {
      parts.push(checks.honeypot_empty === true ? 'spam trap empty' : 'spam trap FILLED');
    }
    for (const [key, value] of Object.entries(checks)) {
      if (key !== 'token' && key !== 'honeypot_empty') parts.push(`${key}: ${describe(value)}`);
    }
    return parts.join(', ');
  }

  function row(term, value, mono) {
    return [el('dt', {}, term), el('dd', mono ? { class: 'mono' } : {}, value)];
  }

  async function openSubmission(reference) {
    if (!state.worker) {
      openUnlock(() => openSubmission(reference));
      return;
    }
    const form = state.form;
    clearSubmission();
    const panel = byId('submission');
    const alertRegion = byId('submission-alert');
    byId('submission-heading').textContent = `Submission ${reference}`;
    panel.hidden = false;
    let item;
    try {
      item = await call('GET', `/portal/api/forms/${encodeURIComponent(form.id)}/submissions/` +
                                   encodeURIComponent(reference));
      const [result] = await state.worker.call('decrypt', {
        formId: form.id, items: [{ reference: item.reference, ciphertext: item.ciphertext }],
      });
      if (!result || result.error) {
        say(alertRegion, (result && result.error) || 'This submission could not be decrypted.');
        return;
      }
      if (state.form !== form) return;
      const fields = byId('submission-fields');
      for (const [name, value] of Object.entries(result.fields)) fields.append(...row(name, describe(value)));
      const a = result.attestation;
      byId('submission-attestation').append(
        ...row('Reference', describe(a.reference), true),
        ...row('Form', `${describe(a.form_id)}, version ${describe(a.form_version)}`),
        ...row('Received', S.formatTime(a.received_at)),
        ...row('Form opened', S.formatTime(a.token_issued_at)),
        ...row('Automatic checks', describeChecks(a.client_checks)),
        ...row('Signature', `verified with the server's key ${S.groupFingerprint(state.serverKey.fingerprint)}`));
      byId('attestation-heading').hidden = false;
      byId('submission-heading').focus();
    } catch (error) {
      clearSubmission();
      panel.hidden = false;
      report(alertRegion, error);
    }
  }

  // ---------------------------------------------------------------------------------
  // Export: batches of 500 from /export, decrypted in the worker, each turned into text and
  // kept as a Blob part (Chromium keeps large blobs outside the renderer's heap); one
  // download at the end.
  // ---------------------------------------------------------------------------------

  const kFixedColumns = ['reference', 'received_at', 'form_id', 'form_version'];

  // A field as [column, text] pairs: objects become name.key columns, lists one cell.
  function flatten(name, value, out) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) flatten(`${name}.${key}`, inner, out);
    } else if (Array.isArray(value)) {
      out.push([name, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join('; ')]);
    } else if (value === null || value === undefined) {
      out.push([name, '']);
    } else {
      out.push([name, String(value)]);
    }
    return out;
  }

  // RFC 4180 cell. A cell that a spreadsheet would read as a formula (= + - @, or a leading
  // tab or CR) gets a leading apostrophe, so opening the export never runs anything.
  function csvCell(text) {
    let cell = String(text);
    if (/^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
    return `"${cell.replace(/"/g, '""')}"`;
  }

  function csvLine(cells) {
    return `${cells.map(csvCell).join(',')}\r\n`;
  }

  // Turns one decrypted batch into CSV rows. New field names seen in this batch are added
  // to `columns` (the header is written last and put first).
  function csvBatch(results, columns) {
    let text = '';
    for (const result of results) {
      const a = result.attestation;
      const cells = new Map([
        ['reference', a.reference], ['received_at', a.received_at], ['form_id', a.form_id],
        ['form_version', a.form_version],
      ]);
      for (const [name, value] of Object.entries(result.fields)) {
        for (const [column, cell] of flatten(name, value, [])) {
          cells.set(`field:${column}`, cell);
          if (!columns.includes(`field:${column}`)) columns.push(`field:${column}`);
        }
      }
      text += csvLine(columns.map((column) => (cells.has(column) ? cells.get(column) : '')));
    }
    return text;
  }

  function jsonlBatch(results) {
    let text = '';
    for (const result of results) {
      const a = result.attestation;
      text += `${JSON.stringify({
        reference: a.reference, received_at: a.received_at, form_id: a.form_id,
        form_version: a.form_version, fields: result.fields, attestation: a,
      })}\n`;
    }
    return text;
  }

  function resetExport() {
    byId('export-progress-wrap').hidden = true;
    say(byId('export-status'), '');
    say(byId('export-alert'), '');
    byId('export-start').disabled = false;
    byId('export-cancel').hidden = true;
  }

  async function runExport() {
    if (!state.worker) {
      openUnlock(runExport);
      return;
    }
    if (state.exporting) return;
    const form = state.form;
    const format = byId('export-jsonl').checked ? 'jsonl' : 'csv';
    const filters = searchFilters();
    const job = { cancelled: false };
    state.exporting = job;
    resetExport();
    byId('export-start').disabled = true;
    byId('export-cancel').hidden = false;
    byId('export-progress-wrap').hidden = false;
    const progress = byId('export-progress');
    const statusRegion = byId('export-status');
    const alertRegion = byId('export-alert');
    const total = filters.from === undefined && filters.to === undefined &&
                  Number.isFinite(form.submissions) ? form.submissions : 0;
    if (total > 0) progress.max = total;
    else progress.removeAttribute('value');

    const parts = [];
    const columns = kFixedColumns.slice();
    const failed = [];
    let exported = 0;
    let after;
    try {
      for (;;) {
        if (job.cancelled) throw new Error('The export was stopped. No file was made.');
        const page = await call('GET', `/portal/api/forms/${encodeURIComponent(form.id)}/export` +
                                           S.query({ ...filters, after, limit: kExportBatch }));
        let items = Array.isArray(page.items) ? page.items : [];
        if (job.cancelled || !state.worker) throw new Error('The export was stopped. No file was made.');
        let results = await state.worker.call('decrypt', {
          formId: form.id,
          items: items.map((item) => ({ reference: item.reference, ciphertext: item.ciphertext })),
        });
        items = null;  // drop the ciphertext batch
        const good = results.filter((r) => !r.error);
        for (const r of results) if (r.error) failed.push(r.reference);
        const text = format === 'csv' ? csvBatch(good, columns) : jsonlBatch(good);
        parts.push(new Blob([text], { type: 'text/plain' }));
        results = null;  // drop the plaintext batch: only the Blob part keeps it
        exported += good.length;
        state.lastActivity = Date.now();  // a running export is activity
        if (total > 0) progress.value = Math.min(exported + failed.length, total);
        say(statusRegion, `${exported} submissions decrypted` +
                              (total > 0 ? ` of ${total}` : '') +
                              (failed.length ? `, ${failed.length} could not be read` : '') + '.');
        const next = page.next_after;
        if (next === null || next === undefined || next === '' || next === after) break;
        after = next;
      }
      let type;
      let name;
      const stem = `${form.id.replace(/[^A-Za-z0-9._-]+/g, '_')}-submissions-${S.today()}`;
      if (format === 'csv') {
        // Header last, put first; the BOM makes spreadsheets read the file as UTF-8.
        const header = columns.map((c) => (c.startsWith('field:') ? c.slice(6) : c));
        parts.unshift(new Blob([`\uFEFF${csvLine(header)}`], { type: 'text/plain' }));
        type = 'text/csv;charset=utf-8';
        name = `${stem}.csv`;
      } else {
        type = 'application/x-ndjson';
        name = `${stem}.jsonl`;
      }
      const file = new Blob(parts, { type });
      parts.length = 0;
      S.download(file, name);
      if (total > 0) progress.value = total;
      else progress.value = progress.max = 1;
      say(statusRegion, `Done: ${exported} submissions exported to ${name}.`);
      if (failed.length) {
        say(alertRegion, `${failed.length} submissions could not be decrypted or verified and are ` +
                             `not in the file: ${failed.slice(0, 20).join(', ')}` +
                             (failed.length > 20 ? ', …' : '.'));
      }
    } catch (error) {
      parts.length = 0;
      report(alertRegion, error);
    } finally {
      state.exporting = null;
      byId('export-start').disabled = false;
      byId('export-cancel').hidden = true;
    }
  }

  // ---------------------------------------------------------------------------------
  // Users (admin)
  // ---------------------------------------------------------------------------------

  function roleChecks(prefix, checked) {
    return kRoles.map(([id, name, what]) => el('div', { class: 'check' },
      el('input', { type: 'checkbox', id: `${prefix}-${id}`, value: id, checked: checked.includes(id) }),
      el('label', { for: `${prefix}-${id}` }, `${name} `, el('span', { class: 'muted' }, `(${what})`))));
  }

  function checkedRoles(container) {
    return [...container.querySelectorAll('input[type="checkbox"]:checked')].map((i) => i.value);
  }

  function formTitle(id) {
    const form = state.forms.find((f) => f.id === id);
    return form ? `${form.title || form.id}` : id;
  }

  async function usersAction(work, success) {
    const statusRegion = byId('users-status');
    const alertRegion = byId('users-alert');
    say(statusRegion, '');
    say(alertRegion, '');
    try {
      const answer = await work();
      say(statusRegion, success(answer));
    } catch (error) {
      report(alertRegion, error);
    }
    await loadUsers();
  }

  function userRow(user) {
    const id = encodeURIComponent(String(user.id));
    const actions = el('div', { class: 'actions' });
    const editor = el('div', { hidden: true });

    const grants = (user.grants || []).map((formId) => {
      const revoke = el('button', { type: 'button', class: 'link' }, 'remove');
      revoke.setAttribute('aria-label', `Remove ${user.email}'s access to ${formTitle(formId)}`);
      revoke.addEventListener('click', () => {
        if (!window.confirm(`Remove ${user.email}'s access to ${formTitle(formId)}? New submissions ` +
                            'will no longer be encrypted to their key.')) {
          return;
        }
        usersAction(
          () => call('POST', `/portal/api/users/${id}/grants/${encodeURIComponent(formId)}/revoke`),
          (answer) => `Access removed. ${formTitle(formId)} is now at version ${answer && answer.form_version}.`);
      });
      return el('li', {}, `${formTitle(formId)} `, revoke);
    });

    if (user.status !== 'disabled') {
      const editRoles = el('button', { type: 'button', class: 'secondary' }, 'Change roles');
      editRoles.addEventListener('click', () => {
        const boxes = el('fieldset', {}, el('legend', {}, `Roles of ${user.email}`),
                         roleChecks(`roles-${user.id}`, user.roles || []));
        const save = el('button', { type: 'button' }, 'Save roles');
        const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
        save.addEventListener('click', () => {
          usersAction(() => call('POST', `/portal/api/users/${id}/roles`, { roles: checkedRoles(boxes) }),
                      () => `Roles of ${user.email} changed. Their sessions were ended.`);
        });
        cancel.addEventListener('click', () => { editor.hidden = true; editor.replaceChildren(); });
        editor.replaceChildren(boxes, el('div', { class: 'actions' }, save, cancel));
        editor.hidden = false;
      });
      actions.append(editRoles);

      const readableForms = state.forms;
      if (readableForms.length) {
        const selectId = `grant-${user.id}`;
        const select = el('select', { id: selectId },
          readableForms.filter((f) => !(user.grants || []).includes(f.id))
              .map((f) => el('option', { value: f.id }, f.title || f.id)));
        const grant = el('button', { type: 'button', class: 'secondary' }, 'Give access');
        grant.addEventListener('click', () => {
          if (!select.value) return;
          const formId = select.value;
          usersAction(() => call('POST', `/portal/api/users/${id}/grants`, { form_id: formId }),
                      (answer) => `${user.email} can now read new submissions of ${formTitle(formId)} ` +
                                  `(version ${answer && answer.form_version}). ${(answer && answer.note) || ''}`);
        });
        if (select.options.length) {
          actions.append(el('span', {}, el('label', { for: selectId, class: 'visually-hidden' },
                                           `Form to give ${user.email} access to`), select), grant);
        }
      }

      const disable = el('button', { type: 'button', class: 'danger' }, 'Disable');
      disable.addEventListener('click', () => {
        if (!window.confirm(`Disable ${user.email}? They are signed out everywhere and cannot sign in again.`)) {
          return;
        }
        usersAction(() => call('POST', `/portal/api/users/${id}/disable`),
                    () => `${user.email} is disabled and signed out everywhere.`);
      });
      actions.append(disable);
    }

    return el('tr', {},
      el('td', {}, user.email),
      el('td', {}, rolesText(user.roles)),
      el('td', {}, user.status),
      el('td', { class: 'mono' }, user.key_fingerprint ? S.groupFingerprint(user.key_fingerprint) : 'no key yet'),
      el('td', {}, grants.length ? el('ul', { class: 'plain' }, grants) : 'none'),
      el('td', {}, actions, editor));
  }

  async function loadUsers() {
    let users;
    try {
      users = await call('GET', '/portal/api/users');
    } catch (error) {
      report(byId('users-alert'), error);
      return;
    }
    byId('users-body').replaceChildren(...(Array.isArray(users) ? users : []).map(userRow));
  }

  function setUpInvite() {
    byId('invite-roles').append(...roleChecks('invite-role', ['staff']));
    byId('invite-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const emailInput = byId('invite-email');
      const roles = checkedRoles(byId('invite-roles'));
      const alertRegion = byId('users-alert');
      say(alertRegion, '');
      byId('invite-result').hidden = true;
      if (!/^[^\s@]+@[^\s@]+$/.test(emailInput.value.trim())) {
        say(alertRegion, 'Enter the e-mail address of the person to invite.');
        S.markInvalid(emailInput, true);
        emailInput.focus();
        return;
      }
      S.markInvalid(emailInput, false);
      if (roles.length === 0) {
        say(alertRegion, 'Choose at least one role.');
        return;
      }
      try {
        const answer = await call('POST', '/portal/api/users', { email: emailInput.value.trim(), roles });
        byId('invite-link').value = String(answer.enrolment_link || '');
        byId('invite-result').hidden = false;
        say(byId('users-status'), `${emailInput.value.trim()} is invited.`);
        emailInput.value = '';
        byId('invite-link').focus();
        byId('invite-link').select();
      } catch (error) {
        report(alertRegion, error);
      }
      await loadUsers();
    });
    byId('invite-copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(byId('invite-link').value);
        say(byId('users-status'), 'The link is copied.');
      } catch {
        byId('invite-link').select();
        say(byId('users-status'), 'Select the link and copy it with Ctrl+C.');
      }
    });
  }

  // ---------------------------------------------------------------------------------
  // Audit trail (auditor, admin)
  // ---------------------------------------------------------------------------------

  function auditFilters() {
    return {
      actor: byId('audit-actor').value.trim(),
      action: byId('audit-action').value.trim(),
      object: byId('audit-object').value.trim(),
      from: S.dateToUnix(byId('audit-from').value, false),
      to: S.dateToUnix(byId('audit-to').value, true),
    };
  }

  async function loadAudit(after, stack) {
    const alertRegion = byId('audit-alert');
    say(alertRegion, '');
    let page;
    try {
      page = await call('GET', `/portal/api/audit${S.query({ ...auditFilters(), after, limit: 100 })}`);
    } catch (error) {
      report(alertRegion, error);
      return;
    }
    state.auditAfter = stack;
    state.auditCurrent = after;
    state.auditNext = page.next_after ?? undefined;
    const items = Array.isArray(page.items) ? page.items : [];
    byId('audit-body').replaceChildren(...items.map((entry) => el('tr', {},
      el('td', { class: 'num' }, String(entry.seq ?? '')),
      el('td', {}, S.formatTime(entry.time)),
      el('td', {}, String(entry.actor ?? '')),
      el('td', { class: 'mono' }, String(entry.action ?? '')),
      el('td', {}, String(entry.object ?? '')),
      el('td', {}, String(entry.source ?? '')),
      el('td', {}, String(entry.outcome ?? '')))));
    byId('audit-empty').hidden = items.length > 0;
    byId('audit-previous').disabled = stack.length === 0;
    byId('audit-next').disabled = state.auditNext === undefined || state.auditNext === null ||
                                  state.auditNext === '' || items.length === 0;
  }

  async function exportAudit(button) {
    button.disabled = true;
    say(byId('audit-alert'), '');
    try {
      const blob = await S.apiBlob(`/portal/api/audit/export${S.query(auditFilters())}`);
      S.download(new Blob([blob], { type: 'application/x-ndjson' }), `sealpost-audit-${S.today()}.jsonl`);
      say(byId('audit-status'), 'The audit export is downloaded.');
    } catch (error) {
      if (error instanceof S.ApiError && error.status === 401) endSession('expired');
      report(byId('audit-alert'), error);
    } finally {
      button.disabled = false;
    }
  }

  async function verifyAudit(button) {
    button.disabled = true;
    say(byId('audit-alert'), '');
    say(byId('audit-status'), 'Verifying…');
    try {
      const r = await call('GET', '/portal/api/audit/verify');
      if (r && r.intact === true) {
        say(byId('audit-status'),
            `The audit chain is intact: ${r.entries} entries, ${r.checkpoints} signed checkpoints.`);
      } else {
        say(byId('audit-status'), '');
        say(byId('audit-alert'), `The audit chain is NOT intact: ${(r && r.problem) || 'no detail given'}` +
                                     ` (${r && r.entries} entries, ${r && r.checkpoints} checkpoints checked).`);
      }
    } catch (error) {
      say(byId('audit-status'), '');
      report(byId('audit-alert'), error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------

  function wire() {
    for (const button of byId('nav').querySelectorAll('button[data-view]')) {
      button.addEventListener('click', () => {
        const view = button.dataset.view;
        clearSubmission();
        showView(view);
        if (view === 'forms') loadForms();
        if (view === 'users') loadUsers();
        if (view === 'audit') loadAudit(undefined, []);
      });
    }
    byId('sign-out').addEventListener('click', async () => {
      try {
        await S.api('POST', '/portal/api/sign-out');
      } catch {
        // Signed out already, or the server is unreachable: leave either way.
      }
      endSession('signed-out');
    });
    byId('sign-out-everywhere').addEventListener('click', async () => {
      if (!window.confirm('Sign out on every computer and browser where you are signed in?')) return;
      try {
        await call('POST', '/portal/api/sign-out-everywhere');
      } catch (error) {
        report(byId('app-alert'), error);
        return;
      }
      endSession('signed-out');
    });

    byId('unlock-open').addEventListener('click', () => openUnlock(null));
    byId('unlock-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const button = byId('unlock-submit');
      button.disabled = true;
      unlock().finally(() => { button.disabled = false; });
    });
    byId('unlock-cancel').addEventListener('click', () => {
      byId('unlock-passphrase').value = '';
      state.pendingAfterUnlock = null;
      byId('unlock-form').hidden = true;
    });
    byId('lock').addEventListener('click', () => {
      lock();
      clearSubmission();
      say(byId('app-status'), 'Your key is locked.');
    });

    byId('back-to-forms').addEventListener('click', () => {
      clearSubmission();
      state.form = null;
      showView('forms');
      loadForms();
    });
    byId('search-form').addEventListener('submit', (event) => {
      event.preventDefault();
      loadSubmissions(undefined, []);
    });
    byId('search-clear').addEventListener('click', () => {
      byId('search-form').reset();
      loadSubmissions(undefined, []);
    });
    byId('subs-next').addEventListener('click', () => {
      loadSubmissions(state.subsNext, [...state.subsAfter, state.subsCurrent]);
    });
    byId('subs-previous').addEventListener('click', () => {
      const stack = state.subsAfter.slice();
      const previous = stack.pop();
      loadSubmissions(previous, stack);
    });
    byId('submission-close').addEventListener('click', clearSubmission);
    byId('export-start').addEventListener('click', runExport);
    byId('export-cancel').addEventListener('click', () => {
      if (state.exporting) state.exporting.cancelled = true;
    });

    setUpInvite();

    byId('audit-form').addEventListener('submit', (event) => {
      event.preventDefault();
      loadAudit(undefined, []);
    });
    byId('audit-next').addEventListener('click', () => {
      loadAudit(state.auditNext, [...state.auditAfter, state.auditCurrent]);
    });
    byId('audit-previous').addEventListener('click', () => {
      const stack = state.auditAfter.slice();
      const previous = stack.pop();
      loadAudit(previous, stack);
    });
    byId('audit-export').addEventListener('click', (event) => exportAudit(event.currentTarget));
    byId('audit-verify').addEventListener('click', (event) => verifyAudit(event.currentTarget));

    // Leaving the page ends the worker and its key; a page restored from the back-forward
    // cache starts again from the server's view of the session.
    window.addEventListener('pagehide', () => lock());
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) window.location.reload();
    });
  }

  async function start() {
    let session;
    try {
      session = await S.api('GET', '/portal/api/session');
    } catch (error) {
      if (error instanceof S.ApiError && error.status === 401) {
        window.location.replace('/portal/sign-in');
        return;
      }
      byId('loading').hidden = true;
      report(byId('app-alert'), error);
      return;
    }
    if (!session || session.stage !== 'full') {
      window.location.replace(session && session.stage === 'enrolling' ? '/portal/enrol' : '/portal/sign-in');
      return;
    }
    state.session = session;
    byId('loading').hidden = true;
    byId('who-email').textContent = session.email || '';
    byId('who-roles').textContent = session.roles && session.roles.length ? `(${rolesText(session.roles)})` : '';
    for (const id of ['who', 'sign-out', 'sign-out-everywhere', 'nav']) byId(id).hidden = false;
    byId('nav').querySelector('[data-view="users"]').hidden = !hasRole('admin');
    byId('nav').querySelector('[data-view="audit"]').hidden = !hasRole('admin', 'auditor');
    wire();
    watchIdle();
    showKeyState();
    showView('forms');
    await loadForms();
  }

  start();
})();
