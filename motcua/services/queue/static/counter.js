'use strict';
/* The counter console: a clerk signs in with a token, opens a counter, calls and serves
   tickets through the queue's clerk API, and receives a dossier through intake's clerk API
   (another origin), then finishes the ticket with the dossier's link.

   The token lives in this tab's sessionStorage: the script has to send it as a bearer
   header to both services, which an HttpOnly cookie of one service cannot do. It is never
   put in a URL, and the page's CSP runs no script but these files. */
(function () {
  const cfg = JSON.parse(document.getElementById('page-config').textContent);
  const T = JSON.parse(document.getElementById('page-text').textContent);
  const TOKEN_KEY = 'motcua.queue.token';
  const COUNTER_KEY = 'motcua.queue.counter.' + cfg.center;
  const REFRESH_DEBOUNCE_MS = 300;
  const base = '/centers/' + encodeURIComponent(cfg.center);
  const $ = (id) => document.getElementById(id);
  const el = {
    message: $('console-message'), signin: $('signin'), signinForm: $('signin-form'),
    tokenInput: $('token'), workspace: $('workspace'), who: $('signed-in-as'),
    signout: $('signout'), counter: $('counter-select'), counterState: $('counter-state'),
    counterLines: $('counter-lines'), open: $('counter-open'), close: $('counter-close'),
    number: $('current-number'), status: $('current-status'), callNext: $('call-next'),
    recall: $('recall'), noShow: $('no-show'), start: $('start-service'),
    finish: $('finish-service'), transferLine: $('transfer-line'), transfer: $('transfer'),
    receive: $('receive'), intakeMessage: $('intake-message'), receiveForm: $('receive-form'),
    procedure: $('procedure'), procedureInfo: $('procedure-info'),
    checklist: $('document-checklist'), applicant: $('applicant-name'),
    contactKind: $('dossier-contact-kind'), contact: $('dossier-contact'),
    consent: $('dossier-consent'), note: $('dossier-note'), receiveButton: $('receive-dossier'),
    receipt: $('receipt'), dossierCode: $('dossier-code'),
    dossierAppointment: $('dossier-appointment'), printReceipt: $('print-receipt'),
    openReceipt: $('open-receipt'), frame: $('receipt-frame'), waiting: $('waiting-lines'),
  };

  let token = sessionStorage.getItem(TOKEN_KEY);
  const state = { counter: null, ticket: null, lines: [] };
  let procedures = null;
  let transferFor = null; // the ticket the transfer choice was suggested for
  let receiveFor = null; // the ticket the dossier form was prepared for
  let receiveKey = null; // its Idempotency-Key: a retried receipt is the same dossier
  let pendingDossier = null; // received, but its ticket not yet finished with the link
  let receiptHtml = null;
  let refreshTimer = null;

  class UiError extends Error {
    constructor(message, status) { super(message); this.status = status || 0; }
  }

  // ------------------------------------------------------------------ messages

  function show(text, kind) {
    el.message.textContent = text || '';
    el.message.className = 'notice ' + (kind || 'ok');
    el.message.dataset.kind = kind || 'ok';
    el.message.hidden = !text;
  }

  // A message about intake; `retry` offers to load the catalog again.
  function intakeNote(text, retry) {
    $('intake-text').textContent = text || '';
    $('intake-retry').hidden = !retry;
    el.intakeMessage.hidden = !text;
  }

  function lineName(code) { return cfg.lines[code] || code; }

  function randomKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function claims(value) {
    try {
      const body = value.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(body + '='.repeat((4 - (body.length % 4)) % 4)));
    } catch (_) {
      return null;
    }
  }

  // ---------------------------------------------------------------------- HTTP

  function headers(json, extra) {
    const h = { Authorization: 'Bearer ' + token };
    if (json) h['Content-Type'] = 'application/json';
    return Object.assign(h, extra || {});
  }

  function describe(status, data, service) {
    const detail = data && data.error ? String(data.error) : 'HTTP ' + status;
    const fields = data && Array.isArray(data.details)
      ? ': ' + data.details.map((d) => d.field + ': ' + d.error).join('; ') : '';
    if (service === 'intake') {
      if (status === 401 || status === 403) return T.intakeToken + ' (' + detail + ')';
      if (status === 503) return T.intakeUnavailable;
      return T.intakeRejected + ' ' + detail + fields;
    }
    if (status === 401) return T.badToken;
    if (status === 403) return T.foreign + ' (' + detail + ')';
    if (status === 503) return T.unavailable;
    return detail + fields;
  }

  async function handle(response, service) {
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.ok) return data;
    throw new UiError(describe(response.status, data, service), response.status);
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers: headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (_) {
      throw new UiError(T.queueUnreachable);
    }
    return handle(response, 'queue');
  }

  // A refusal by CORS and a service that is down look the same to a script; an opaque
  // request, which CORS does not block, tells them apart.
  async function intakeDiagnosis() {
    try {
      await fetch(cfg.intakeUrl + '/healthz', { mode: 'no-cors', cache: 'no-store' });
      return T.intakeBlocked;
    } catch (_) {
      return T.intakeUnreachable;
    }
  }

  async function intake(path, init, asText) {
    let response;
    try {
      response = await fetch(cfg.intakeUrl + path, Object.assign({ mode: 'cors', cache: 'no-store' }, init));
    } catch (_) {
      throw new UiError(await intakeDiagnosis());
    }
    if (asText && response.ok) return response.text();
    return handle(response, 'intake');
  }

  // --------------------------------------------------------------- signing in

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    el.workspace.hidden = true;
    el.signin.hidden = false;
    show(message, message === T.signedOut ? 'ok' : 'bad');
    el.tokenInput.focus();
  }

  function enterWorkspace() {
    const c = claims(token);
    // motcua's own token names subject and center as s and c; a provider's, as
    // preferred_username (or sub) and the center claim the deployment chose.
    el.who.textContent = c ? (c.s || c.preferred_username || c.sub) + ' · ' + (c.c || cfg.center) : '';
    el.signin.hidden = true;
    el.workspace.hidden = false;
  }

  el.signinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = el.tokenInput.value.trim();
    if (!value) { show(T.needToken, 'bad'); return; }
    token = value;
    try {
      await load();
    } catch (err) {
      token = null;
      show(err.message, 'bad');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    el.tokenInput.value = '';
    show('', 'ok');
    enterWorkspace();
  });

  el.signout.addEventListener('click', () => {
    // A provider's token (a JWT, not motcua's v1.) came with a session at the provider:
    // end it too, or the next clerk at this PC is signed in as this one.
    const fromProvider = token && !token.startsWith('v1.');
    signOut(T.signedOut);
    if (fromProvider && cfg.providerLogout) window.location.assign(cfg.providerLogout);
  });

  // --------------------------------------------------------------------- state

  async function load() {
    const id = el.counter.value;
    const [board, called, serving] = await Promise.all([
      api('GET', '/display'),
      api('GET', '/tickets?status=called'),
      api('GET', '/tickets?status=serving'),
    ]);
    state.counter = board.counters.find((c) => c.counter_id === id) || null;
    state.ticket = called.concat(serving).find((t) => t.counter_id === id) || null;
    state.lines = board.lines;
    render();
  }

  function scheduleLoad() {
    if (!token || el.workspace.hidden) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      load().catch((err) => {
        if (err.status === 401) signOut(T.badToken);
      });
    }, REFRESH_DEBOUNCE_MS);
  }

  function render() {
    const c = state.counter;
    const t = state.ticket;
    const open = Boolean(c && c.is_open);
    const status = t ? t.status : '';
    el.counterState.dataset.open = String(open);
    el.counterState.textContent = open ? T.open : T.closed;
    el.counterLines.textContent = c ? T.serves + ': ' + c.line_codes.map(lineName).join(', ') : '';
    el.open.disabled = open;
    el.close.disabled = !open || Boolean(t);
    el.callNext.disabled = !open || Boolean(t);
    el.recall.disabled = status !== 'called';
    el.noShow.disabled = status !== 'called';
    el.start.disabled = status !== 'called';
    el.finish.disabled = !t;
    el.finish.textContent = pendingDossier && t && pendingDossier.ticket === t.ticket_id
      ? T.finishAgain : el.finish.dataset.label;
    el.transfer.disabled = !t;
    el.transferLine.disabled = !t;
    el.number.textContent = t ? t.number : '—';
    el.status.dataset.status = status;
    el.status.textContent = t
      ? lineName(t.line_code) + ' · ' + (cfg.statuses[t.status] || t.status) + ' · '
        + t.call_count + ' ' + T.calls
      : T.none;
    if (t && transferFor !== t.ticket_id) {
      // Suggest another line once per ticket; a live refresh never undoes the clerk's choice.
      transferFor = t.ticket_id;
      const other = Array.from(el.transferLine.options).find((o) => o.value !== t.line_code);
      if (other) el.transferLine.value = other.value;
    }
    el.receive.hidden = status !== 'serving';
    if (status === 'serving') prepareReceive(t);
    state.lines.forEach((line) => {
      const cell = el.waiting.querySelector('[data-testid="waiting-count-' + line.line_code + '"]');
      if (cell) cell.textContent = String(line.waiting);
    });
  }

  // ------------------------------------------------------------------ actions

  async function act(button, run) {
    button.disabled = true;
    try {
      await run();
    } catch (err) {
      if (err.status === 401) { signOut(T.badToken); return; }
      show(err.message, 'bad');
    }
    try {
      await load();
    } catch (err) {
      if (err.status === 401) { signOut(T.badToken); return; }
      show(err.message, 'bad');
    }
  }

  function at(ticket, action) {
    return '/counters/' + encodeURIComponent(el.counter.value) + '/tickets/' + ticket.ticket_id + '/' + action;
  }

  el.finish.dataset.label = el.finish.textContent;

  el.counter.addEventListener('change', () => {
    sessionStorage.setItem(COUNTER_KEY, el.counter.value);
    show('', 'ok');
    scheduleLoad();
  });

  el.open.addEventListener('click', () => act(el.open, async () => {
    await api('POST', '/counters/' + encodeURIComponent(el.counter.value) + '/open');
    show(T.opened, 'ok');
  }));

  el.close.addEventListener('click', () => act(el.close, async () => {
    await api('POST', '/counters/' + encodeURIComponent(el.counter.value) + '/close');
    show(T.closedDone, 'ok');
  }));

  el.callNext.addEventListener('click', () => act(el.callNext, async () => {
    const t = await api('POST', '/counters/' + encodeURIComponent(el.counter.value) + '/call-next');
    if (!t) { show(T.nobody, 'wait'); return; }
    el.receipt.hidden = true;
    show(T.called + ' ' + t.number, 'ok');
  }));

  el.recall.addEventListener('click', () => act(el.recall, async () => {
    const t = await api('POST', at(state.ticket, 'recall'));
    show(t.status === 'no_show' ? T.noShow + ' ' + t.number
      : T.recalled + ' ' + t.number + ' (' + t.call_count + ' ' + T.calls + ')', t.status === 'no_show' ? 'wait' : 'ok');
  }));

  el.noShow.addEventListener('click', () => act(el.noShow, async () => {
    const t = await api('POST', at(state.ticket, 'no-show'));
    show(T.noShow + ' ' + t.number, 'wait');
  }));

  el.start.addEventListener('click', () => act(el.start, async () => {
    const t = await api('POST', at(state.ticket, 'start'));
    show(T.started + ' ' + t.number, 'ok');
  }));

  el.finish.addEventListener('click', () => act(el.finish, async () => {
    const t = state.ticket;
    const linked = pendingDossier && pendingDossier.ticket === t.ticket_id ? pendingDossier : null;
    const done = await api('POST', at(t, 'finish'), linked ? { dossier_id: linked.id } : {});
    if (linked) pendingDossier = null;
    show((linked ? T.linked + ' ' + linked.code + ' — ' : T.finished + ' ') + done.number, 'ok');
  }));

  el.transfer.addEventListener('click', () => act(el.transfer, async () => {
    const t = await api('POST', at(state.ticket, 'transfer'), { line_code: el.transferLine.value });
    show(T.transferred + ' ' + t.number + ' → ' + lineName(t.line_code), 'ok');
  }));

  // ----------------------------------------------------------- dossier receipt

  function option(value, label) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  function prepareReceive(ticket) {
    if (receiveFor === ticket.ticket_id) return;
    receiveFor = ticket.ticket_id;
    receiveKey = randomKey();
    el.receiveForm.reset();
    el.checklist.replaceChildren();
    el.procedureInfo.textContent = '';
    loadProcedures(ticket.line_code);
  }

  async function loadProcedures(lineCode) {
    intakeNote('');
    el.receiveButton.disabled = true;
    if (!procedures) {
      el.procedure.replaceChildren(option('', T.intakeLoading));
      try {
        procedures = await intake('/v1/procedures', { method: 'GET' });
      } catch (err) {
        el.procedure.replaceChildren(option('', '—'));
        intakeNote(err.message, true);
        return;
      }
    }
    const name = (p) => p.code + ' — ' + (cfg.lang === 'en' ? p.name.en : p.name.vi);
    const mine = document.createElement('optgroup');
    mine.label = T.thisLine + ' (' + lineName(lineCode) + ')';
    const others = document.createElement('optgroup');
    others.label = T.otherLines;
    procedures.forEach((p) => (p.line_code === lineCode ? mine : others).appendChild(option(p.code, name(p))));
    el.procedure.replaceChildren(option('', T.chooseProcedure));
    if (mine.children.length) el.procedure.appendChild(mine);
    if (others.children.length) el.procedure.appendChild(others);
    el.receiveButton.disabled = false;
  }

  function renderProcedure() {
    const p = (procedures || []).find((x) => x.code === el.procedure.value);
    el.checklist.replaceChildren();
    if (!p) { el.procedureInfo.textContent = ''; return; }
    const limit = p.time_limit;
    const amount = limit.amount === 0 && limit.unit === 'working_days' ? T.sameDay
      : limit.amount + ' ' + (limit.unit === 'working_days' ? T.workingDays : T.workingHours);
    el.procedureInfo.textContent = T.timeLimit + ': ' + amount + ' · ' + T.fee + ': '
      + (cfg.lang === 'en' ? p.fee.en : p.fee.vi);
    if (!p.required_documents.length) {
      const li = document.createElement('li');
      li.textContent = T.noDocuments;
      el.checklist.appendChild(li);
    }
    p.required_documents.forEach((doc, i) => {
      const li = document.createElement('li');
      const label = document.createElement('label');
      label.className = 'choice';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = doc.vi; // intake matches the receipt's checklist on the Vietnamese name
      box.id = 'doc-' + i;
      box.dataset.testid = 'document-item';
      label.appendChild(box);
      label.appendChild(document.createTextNode(' ' + (cfg.lang === 'en' ? doc.en : doc.vi)));
      li.appendChild(label);
      el.checklist.appendChild(li);
    });
  }

  $('intake-retry').addEventListener('click', () => {
    if (state.ticket) loadProcedures(state.ticket.line_code);
  });

  el.procedure.addEventListener('change', () => { intakeNote(''); renderProcedure(); });

  function receiveBody(ticket) {
    const body = {
      procedure_code: el.procedure.value,
      ticket_id: ticket.ticket_id,
      documents_received: Array.from(el.checklist.querySelectorAll('input:checked'), (b) => b.value),
    };
    if (el.applicant.value.trim()) body.applicant_name = el.applicant.value.trim();
    if (el.note.value.trim()) body.note = el.note.value.trim();
    if (el.contact.value.trim()) {
      body.contact = { kind: el.contactKind.value, value: el.contact.value.trim(), language: cfg.lang };
      body.consent_notifications = el.consent.checked;
    }
    return body;
  }

  async function showReceipt(url) {
    const html = await intake(url, { method: 'GET', headers: headers(false) }, true);
    // Shown as content only: the frame runs no script, and the console has its own print
    // button, so intake's button and any script or handler are left out.
    // Handlers go before parsing: even an inert parse reports them as CSP violations. The
    // sandbox, not this, is what keeps the frame from running anything.
    const inert = html.replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '');
    const doc = new DOMParser().parseFromString(inert, 'text/html');
    doc.querySelectorAll('script, .noprint').forEach((node) => node.remove());
    receiptHtml = '<!DOCTYPE html>\n' + doc.documentElement.outerHTML;
    el.frame.srcdoc = receiptHtml;
  }

  el.frame.addEventListener('load', () => {
    const doc = el.frame.contentDocument;
    if (doc && doc.documentElement) el.frame.style.height = (doc.documentElement.scrollHeight + 24) + 'px';
  });

  el.receiveForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const t = state.ticket;
    if (!t || t.status !== 'serving') return;
    if (!el.procedure.value) { intakeNote(T.pickProcedure); el.procedure.focus(); return; }
    intakeNote('');
    el.receiveButton.disabled = true;
    const label = el.receiveButton.textContent;
    el.receiveButton.textContent = T.busy;
    try {
      const receipt = await intake('/v1/dossiers', {
        method: 'POST',
        headers: headers(true, { 'Idempotency-Key': receiveKey }),
        body: JSON.stringify(receiveBody(t)),
      });
      pendingDossier = { id: receipt.dossier.id, code: receipt.dossier.code, ticket: t.ticket_id };
      el.dossierCode.textContent = receipt.dossier.code;
      el.dossierAppointment.textContent = receipt.dossier.appointment_local;
      el.receipt.hidden = false;
      show(T.received + ' ' + receipt.dossier.code, 'ok');
      try {
        await showReceipt(receipt.receipt_url);
      } catch (err) {
        intakeNote(T.receiptFailed + ' ' + err.message);
      }
      await act(el.finish, async () => {
        try {
          await api('POST', at(t, 'finish'), { dossier_id: pendingDossier.id });
        } catch (err) {
          throw new UiError(T.finishFailed + ' ' + err.message, err.status);
        }
        show(T.linked + ' ' + pendingDossier.code + ' — ' + t.number, 'ok');
        pendingDossier = null;
      });
    } catch (err) {
      intakeNote(err.message);
    } finally {
      el.receiveButton.textContent = label;
      el.receiveButton.disabled = false;
    }
  });

  el.printReceipt.addEventListener('click', () => {
    if (el.frame.contentWindow) el.frame.contentWindow.print();
  });

  el.openReceipt.addEventListener('click', () => {
    if (!receiptHtml) return;
    const url = URL.createObjectURL(new Blob([receiptHtml], { type: 'text/html' }));
    window.open(url, '_blank', 'noopener');
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });

  // ------------------------------------------------------------------- start

  const remembered = sessionStorage.getItem(COUNTER_KEY);
  if (remembered && Array.from(el.counter.options).some((o) => o.value === remembered)) {
    el.counter.value = remembered;
  }
  window.motcuaLive(cfg.streamUrl, () => scheduleLoad(), () => {});
  if (token) {
    load().then(enterWorkspace, (err) => {
      if (err.status === 401) signOut(T.badToken);
      else { enterWorkspace(); show(err.message, 'bad'); }
    });
  } else {
    el.signin.hidden = false;
  }
}());
