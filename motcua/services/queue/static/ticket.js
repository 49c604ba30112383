'use strict';
/* A ticket's page. At the kiosk: print, then go back to the kiosk by itself. On a
   citizen's phone: follow the queue live until the ticket is done. */
(function () {
  const cfg = JSON.parse(document.getElementById('page-config').textContent);
  if (cfg.kiosk) {
    document.getElementById('print-ticket').addEventListener('click', () => window.print());
    // Kiosk browsers print silently (Chromium's --kiosk-printing); enable with ?autoprint=1.
    if (cfg.autoPrint) window.print();
    const counter = document.getElementById('return-seconds');
    let left = cfg.returnSeconds;
    const timer = setInterval(() => {
      left -= 1;
      counter.textContent = String(Math.max(left, 0));
      if (left <= 0) { clearInterval(timer); window.location.href = cfg.kioskUrl; }
    }, 1000);
    return;
  }
  const panel = document.getElementById('ticket-panel');
  const live = document.getElementById('live-status');
  const TERMINAL = ['served', 'no_show', 'cancelled'];
  const SAFETY_POLL_MS = 60000;
  function status() {
    const el = panel.querySelector('[data-status]');
    return el ? el.dataset.status : '';
  }
  let last = status();
  let stream = null;
  let poll = null;
  function setLive(ok) { live.dataset.state = ok ? 'live' : 'lost'; }
  const refresh = window.motcuaRefresher(cfg.panelUrl, panel, () => {
    const now = status();
    if (now === 'called' && last !== 'called' && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    last = now;
    if (TERMINAL.includes(now)) {
      if (stream) stream.stop();
      clearInterval(poll);
    }
  }, setLive);
  if (!TERMINAL.includes(last)) {
    stream = window.motcuaLive(cfg.streamUrl, () => refresh(), setLive);
    poll = setInterval(refresh, SAFETY_POLL_MS);
  }
}());
