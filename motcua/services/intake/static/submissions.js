'use strict';
/* The clerk's acceptance screen: the center's online submissions waiting for acceptance
   (status 1), one opened with its files, accepted or refused with a reason.

   The token lives in this tab's sessionStorage, as in the counter console: the script
   sends it as a bearer header to intake's clerk API, which makes every check. It is never
   put in a URL. Files are fetched with the token and opened from memory, since a link
   cannot carry the header. */
(function () {
  const app = document.getElementById('submissions-app');
  if (!app) { return; }
  const msg = app.dataset;
  const TOKEN_KEY = 'motcua.intake.token';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY);
  let current = null; // the dossier opened
  const opened = []; // object URLs of files opened, released when another dossier opens

  function say(text, bad) {
    const box = $('submissions-message');
    box.textContent = text || '';
    box.hidden = !text;
    box.className = 'notice' + (bad ? ' bad' : '');
  }

  async function api(path, options) {
    const init = Object.assign({ headers: {} }, options || {});
    init.headers = Object.assign({ Authorization: 'Bearer ' + token }, init.headers);
    const response = await fetch(path, init);
    if (response.status === 401) {
      signOut();
      say(msg.msgSignedOut, true);
      throw new Error('signed out');
    }
    if (!response.ok) { throw new Error('status ' + response.status); }
    return response;
  }

  function local(iso) {
    return new Date(iso).toLocaleString(msg.lang === 'en' ? 'en-GB' : 'vi-VN');
  }

  function signOut() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $('workspace').hidden = true;
    $('signin').hidden = false;
  }

  /* The list ``id`` emptied, saying ``none`` when ``items`` is empty. */
  function cleared(id, items, none) {
    const ul = $(id);
    ul.replaceChildren();
    if (items.length === 0) {
      const li = document.createElement('li');
      li.textContent = none;
      ul.append(li);
    }
    return ul;
  }

  async function list() {
    const rows = await (await api('/v1/dossiers?status=1&limit=200')).json();
    const ul = cleared('waiting', rows, msg.msgNone);
    for (const row of rows) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.testid = 'submission-open';
      button.dataset.code = row.code;
      button.textContent = row.code + ' – ' + row.procedure_code + ' – ' + local(row.received_at);
      button.addEventListener('click', () => open(row.id).catch(failed));
      li.append(button);
      ul.append(li);
    }
  }

  async function open(id) {
    const [dossier, files] = await Promise.all([
      api('/v1/dossiers/' + id).then((r) => r.json()),
      api('/v1/dossiers/' + id + '/documents').then((r) => r.json()),
    ]);
    while (opened.length) { URL.revokeObjectURL(opened.pop()); }
    current = dossier;
    $('dossier-code').textContent = dossier.code;
    $('dossier-procedure').textContent = msg.lang === 'en' ? dossier.procedure.name_en : dossier.procedure.name_vi;
    $('dossier-applicant').textContent = dossier.applicant_name || '–';
    $('dossier-submitted').textContent = local(dossier.received_at);
    const ul = cleared('dossier-files', files, msg.msgNoFiles);
    for (const f of files.filter((x) => x.kind === 'component')) {
      const li = document.createElement('li');
      li.dataset.testid = 'submission-file';
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.testid = 'submission-file-open';
      button.textContent = msg.msgOpen;
      button.addEventListener('click', () => openFile(id, f, li).catch(failed));
      li.append(msg.msgComponent + ' ' + f.component + ': ' + f.file_name
        + ' (' + Math.max(1, Math.round(f.size / 1024)) + ' KiB) ', button);
      ul.append(li);
    }
    $('reason').value = '';
    $('reason-error').hidden = true;
    $('dossier').hidden = false;
    say('');
  }

  /* The file from memory: a link to it to open in a new tab (a PDF or a photo). */
  async function openFile(id, f, li) {
    const blob = await (await api('/v1/dossiers/' + id + '/documents/' + f.sha256)).blob();
    const url = URL.createObjectURL(blob);
    opened.push(url);
    const a = document.createElement('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener';
    a.download = f.file_name;
    a.dataset.testid = 'submission-file-link';
    a.textContent = f.file_name;
    li.append(' ', a);
    a.click();
  }

  async function decide(path, body, done) {
    await api('/v1/dossiers/' + current.id + '/' + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    $('dossier').hidden = true;
    current = null;
    await list();
    say(done);
  }

  function failed(e) {
    if (String(e && e.message) !== 'signed out') { say(msg.msgFailed, true); }
  }

  async function start() {
    $('signin').hidden = true;
    $('workspace').hidden = false;
    await list();
  }

  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    if (!token) { return; }
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    start().catch(failed);
  });
  $('signout').addEventListener('click', signOut);
  $('refresh').addEventListener('click', () => list().catch(failed));
  $('accept').addEventListener('click', () => decide('accept', {}, msg.msgAccepted).catch(failed));
  $('refuse-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const reason = $('reason').value.trim();
    $('reason-error').textContent = reason ? '' : msg.msgReason;
    $('reason-error').hidden = !!reason;
    if (!reason) { return; }
    decide('not-accept', { reason: reason }, msg.msgRefused).catch(failed);
  });

  if (token) { start().catch(failed); }
}());
