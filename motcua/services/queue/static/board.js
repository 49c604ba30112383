'use strict';
/* The display board: refreshed on every change; a call is highlighted and, once a
   person has switched it on (browsers need a gesture before speaking), announced
   with the Web Speech API in Vietnamese: "Mời số A012 đến quầy 3". */
(function () {
  const cfg = JSON.parse(document.getElementById('page-config').textContent);
  const phrases = JSON.parse(document.getElementById('speech-text').textContent);
  const panel = document.getElementById('board-panel');
  const banner = document.getElementById('call-banner');
  const callText = document.getElementById('call-text');
  const live = document.getElementById('live-status');
  const toggle = document.getElementById('speech-toggle');
  const clock = document.getElementById('board-clock');
  const HIGHLIGHT_MS = 10000;
  // The stream is silent while the database is away; a regular reload notices, and says so.
  const SAFETY_POLL_MS = 15000;
  let flash = null;
  let speaking = false;
  let hideTimer = null;

  function setLive(ok) {
    live.dataset.state = ok ? 'live' : 'lost';
    live.textContent = ok ? live.dataset.live : live.dataset.lost;
  }

  function cardOf(counterId) {
    return Array.from(panel.querySelectorAll('.counter-card'))
      .find((card) => card.dataset.counter === counterId) || null;
  }

  function applyFlash() {
    if (!flash || Date.now() > flash.until) return;
    const card = cardOf(flash.counter);
    if (card) card.classList.add('flash');
  }

  const refresh = window.motcuaRefresher(cfg.panelUrl, panel, applyFlash, setLive);

  function phrase(number, counterId, forSpeech) {
    const name = cfg.counters[counterId] || counterId || '';
    const counter = cfg.lang === 'en' ? name : name.toLocaleLowerCase('vi');
    // Spoken digit by digit ("A 0 1 2"), as callers in a center say it.
    const said = forSpeech ? number.split('').join(' ') : number;
    return (phrases[cfg.lang] || phrases.vi).replace('{number}', said).replace('{counter}', counter);
  }

  function say(text) {
    if (!('speechSynthesis' in window)) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = cfg.lang === 'en' ? 'en-US' : 'vi-VN';
    const prefix = utterance.lang.slice(0, 2);
    const voice = window.speechSynthesis.getVoices()
      .find((v) => (v.lang || '').toLowerCase().startsWith(prefix));
    if (voice) utterance.voice = voice;
    utterance.rate = 0.9;
    window.speechSynthesis.speak(utterance);
  }

  function announce(message) {
    if (!message || !message.number) return;
    callText.textContent = phrase(message.number, message.counter_id, false);
    banner.hidden = false;
    flash = { counter: message.counter_id, until: Date.now() + HIGHLIGHT_MS };
    applyFlash();
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => {
      banner.hidden = true;
      panel.querySelectorAll('.counter-card.flash').forEach((c) => c.classList.remove('flash'));
    }, HIGHLIGHT_MS);
    if (speaking) say(phrase(message.number, message.counter_id, true));
  }

  if (!('speechSynthesis' in window)) {
    toggle.disabled = true;
    toggle.textContent = toggle.dataset.unsupported;
  }
  toggle.addEventListener('click', () => {
    speaking = !speaking;
    toggle.setAttribute('aria-pressed', String(speaking));
    toggle.textContent = speaking ? toggle.dataset.on : toggle.dataset.off;
    window.speechSynthesis.cancel();
    // Speaking inside the click is what unlocks speech for later calls.
    if (speaking) say(cfg.lang === 'en' ? 'Announcements on' : 'Đã bật đọc số');
  });

  const timeFormat = new Intl.DateTimeFormat('vi-VN', {
    hour: '2-digit', minute: '2-digit', hour12: false, timeZone: cfg.timezone,
  });
  function tick() { clock.textContent = timeFormat.format(new Date()); }
  setInterval(tick, 10000);

  window.motcuaLive(cfg.streamUrl, (name, data) => {
    if (name === 'ticket.called' || name === 'ticket.recalled') announce(data);
    refresh();
  }, setLive);
  setInterval(refresh, SAFETY_POLL_MS);
}());
