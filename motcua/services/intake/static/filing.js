'use strict';
/* The citizen's filing page: checks the form, files the dossier through the public API,
   then streams each component to its upload route with the dossier's secret, one file per
   request, with progress.

   A retry after a failure files nothing twice: the dossier's idempotency key lives as long
   as the page, the receipt is kept once it came back, and only the files not yet stored
   are sent again. The secret stays in this page's memory; it is never put in a URL. */
(function () {
  const form = document.getElementById('filing-form');
  if (!form) { return; }
  const $ = (id) => document.getElementById(id);
  const msg = form.dataset;
  const maxBytes = Number(msg.maxBytes);
  const types = msg.types.split(',');
  const key = 'filing-' + (crypto.randomUUID ? crypto.randomUUID()
    : String(Date.now()) + Math.random().toString(16).slice(2));
  const stored = new Set(); // the components already uploaded
  let receipt = null;
  let earlier = null; // the earlier dossier's code and secret, once its files were found

  function reuseChoice(n) {
    const select = $('component-' + n + '-reuse');
    return select && !select.hidden ? select.value : '';
  }

  function fieldError(input, text) {
    const span = $(input.id + '-error');
    span.textContent = text || '';
    span.hidden = !text;
    if (text) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
  }

  function formError(text) {
    const box = $('filing-error');
    box.textContent = text || '';
    box.hidden = !text;
  }

  /* What the page can tell before sending: a missing required file, one too big, one of a
     type the store refuses (the server checks the content again). */
  function check() {
    let ok = true;
    for (const input of form.querySelectorAll('input[type=file]')) {
      const file = input.files[0];
      let problem = '';
      const n = input.dataset.component;
      if (!file) {
        if (input.required && !stored.has(n) && !reuseChoice(n)) { problem = msg.msgMissing; }
      } else if (file.size === 0 || file.size > maxBytes) {
        problem = msg.msgTooBig;
      } else if (types.indexOf(file.type) < 0) {
        problem = msg.msgWrongType;
      }
      fieldError(input, problem);
      ok = ok && !problem;
    }
    const contact = $('contact_value');
    const bad = contact.value.trim().length < 3;
    fieldError(contact, bad ? msg.msgContact : '');
    return ok && !bad;
  }

  async function file() {
    const response = await fetch('/v1/public/dossiers', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({
        center_id: form.dataset.center,
        procedure_code: form.dataset.procedure,
        applicant_name: $('applicant_name').value.trim() || null,
        contact: { kind: $('contact_kind').value, value: $('contact_value').value.trim(), language: msg.lang },
        consent_notifications: $('consent').checked,
      }),
    });
    if (response.status === 422) {
      fieldError($('contact_value'), msg.msgContact);
      throw new Error('invalid');
    }
    if (!response.ok) { throw new Error('status ' + response.status); }
    return response.json();
  }

  /* One file as the body of one PUT: XMLHttpRequest, since fetch reports no upload progress. */
  function upload(input) {
    const file = input.files[0];
    const n = input.dataset.component;
    const bar = $(input.id + '-progress');
    bar.hidden = false;
    bar.value = 0;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const url = '/v1/public/dossiers/' + encodeURIComponent(receipt.code) + '/documents/' + n
        + '?file_name=' + encodeURIComponent(file.name);
      xhr.open('PUT', url);
      xhr.setRequestHeader('Content-Type', file.type);
      xhr.setRequestHeader('X-Dossier-Secret', receipt.secret);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
      xhr.onload = () => {
        if (xhr.status === 200) {
          bar.value = 100;
          stored.add(n);
          resolve();
          return;
        }
        fieldError(input, xhr.status === 413 ? msg.msgTooBig
          : xhr.status === 415 ? msg.msgWrongType : msg.msgFailed);
        reject(new Error('status ' + xhr.status));
      };
      xhr.onerror = () => { fieldError(input, msg.msgFailed); reject(new Error('network')); };
      xhr.send(file);
    });
  }

  /* A file of the earlier dossier, attached by its hash: nothing is sent again. */
  async function reuse(n, sha256) {
    const response = await fetch('/v1/public/dossiers/' + encodeURIComponent(receipt.code)
      + '/documents/' + n + '/reuse', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Dossier-Secret': receipt.secret },
      body: JSON.stringify({
        from_code: earlier.code, from_secret: earlier.secret, sha256: sha256, consent: true,
      }),
    });
    if (!response.ok) {
      fieldError($('component-' + n), msg.msgFailed);
      throw new Error('status ' + response.status);
    }
    stored.add(n);
  }

  /* The earlier dossier's component files, offered under each component. */
  async function findEarlier() {
    const code = $('reuse_code').value.trim();
    const secret = $('reuse_secret').value.trim();
    const error = $('reuse_code-error');
    error.hidden = false;
    if (!$('reuse_consent').checked) { error.textContent = msg.msgReuseConsent; return; }
    const response = await fetch('/v1/public/documents', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: code, secret: secret }),
    });
    const files = response.ok ? (await response.json()).filter((f) => f.kind === 'component') : [];
    if (files.length === 0) { error.textContent = msg.msgReuseNotFound; return; }
    earlier = { code: code, secret: secret };
    error.textContent = msg.msgReuseFound;
    for (const select of form.querySelectorAll('select[data-reuse]')) {
      select.replaceChildren(select.options[0]);
      for (const f of files) {
        const option = document.createElement('option');
        option.value = f.sha256;
        option.textContent = f.file_name + ' (' + Math.max(1, Math.round(f.size / 1024)) + ' KiB)';
        select.append(option);
      }
      select.hidden = false;
    }
  }
  $('reuse_find').addEventListener('click', () => {
    findEarlier().catch(() => { $('reuse_code-error').textContent = msg.msgFailed; });
  });

  function done() {
    $('filing-code').textContent = receipt.code;
    $('filing-secret').textContent = receipt.secret;
    $('filing-lookup').href += ($('filing-lookup').href.indexOf('?') < 0 ? '?' : '&')
      + 'code=' + encodeURIComponent(receipt.code);
    form.hidden = true;
    $('filing-done').hidden = false;
    $('filing-done').focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError('');
    if (!check()) { return; }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    formError(msg.msgUploading);
    try {
      if (!receipt) { receipt = await file(); }
      for (const input of form.querySelectorAll('input[type=file]')) {
        const n = input.dataset.component;
        if (stored.has(n)) { continue; }
        if (input.files[0]) { await upload(input); } else if (reuseChoice(n)) { await reuse(n, reuseChoice(n)); }
      }
      formError('');
      done();
    } catch (e) {
      formError(msg.msgFailed);
    } finally {
      button.disabled = false;
    }
  });
}());
