'use strict';
/* The verification page's file check: streams the chosen copy of a result to
   POST /v1/public/verify as the raw body (the API hashes it as it arrives and keeps
   nothing), then opens the page's verdict for the hash it computed. Without this script
   the form stays hidden, and the number and SHA-256 forms still work. */
(function () {
  const form = document.getElementById('verify-file-form');
  if (!form) { return; }
  const msg = form.dataset;
  const input = document.getElementById('verify-file');
  const error = document.getElementById('verify-file-error');
  const status = document.getElementById('verify-file-status');
  const maxBytes = Number(msg.maxBytes);
  form.hidden = false;

  function fieldError(text) {
    error.textContent = text || '';
    error.hidden = !text;
    if (text) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
  }

  /* The API's refusals, in the page's language: it names the field; the page names why. */
  function refusal(code) {
    if (code === 413) { return msg.msgTooBig; }
    if (code === 422) { return msg.msgEmpty; }
    if (code === 429) { return msg.msgBusy; }
    return msg.msgFailed;
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    const file = input.files[0];
    // What the page can tell before sending; the API checks the length again.
    if (!file || file.size === 0) { fieldError(msg.msgEmpty); return; }
    if (file.size > maxBytes) { fieldError(msg.msgTooBig); return; }
    fieldError('');
    status.textContent = msg.msgChecking;
    try {
      const answer = await fetch(msg.action, {
        method: 'POST',
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
        body: file,
      });
      if (!answer.ok) { status.textContent = ''; fieldError(refusal(answer.status)); return; }
      const verdict = await answer.json();
      const url = msg.resultUrl;
      window.location.assign(url + (url.indexOf('?') < 0 ? '?' : '&') +
        'sha256=' + encodeURIComponent(verdict.sha256));
    } catch (e) {
      status.textContent = '';
      fieldError(msg.msgFailed);
    }
  });
}());
