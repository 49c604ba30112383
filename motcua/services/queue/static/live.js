'use strict';
/* Live updates shared by the board and the ticket page: the queue's display stream
   (Server-Sent Events) says that something changed; the page then fetches its own
   server-rendered panel again. One template renders every view of the state. */

// The event names the display stream sends (see motcua/services/queue/display.py).
const MOTCUA_EVENTS = ['snapshot', 'resync', 'ticket.issued', 'ticket.called', 'ticket.recalled',
  'ticket.no_show', 'ticket.requeued', 'ticket.transferred', 'ticket.service_started',
  'ticket.service_completed', 'ticket.cancelled', 'counter.opened', 'counter.closed',
  'ticket.arrival_confirmed'];
const MOTCUA_RECONNECT_MS = 5000;

// Listen to a display stream for ever. EventSource retries by itself after a dropped
// connection, but gives up after an error status (a 503 while the database is away),
// so a closed source is reopened here.
window.motcuaLive = function (streamUrl, onChange, onState) {
  let source = null;
  let timer = null;
  let stopped = false;
  function connect() {
    if (stopped) return;
    if (!('EventSource' in window)) { onState(false); return; }
    source = new EventSource(streamUrl);
    source.onopen = () => onState(true);
    source.onerror = () => {
      onState(false);
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        clearTimeout(timer);
        timer = setTimeout(connect, MOTCUA_RECONNECT_MS);
      }
    };
    MOTCUA_EVENTS.forEach((name) => source.addEventListener(name, (event) => {
      let data = null;
      try { data = JSON.parse(event.data); } catch (_) { data = null; }
      onChange(name, data);
    }));
  }
  connect();
  return {
    stop() { stopped = true; if (source) source.close(); clearTimeout(timer); },
  };
};

// Fetch a panel fragment into `target`: one request at a time, a burst of changes
// coalesced into one more request. `after` runs after each swap.
window.motcuaRefresher = function (url, target, after, onState) {
  let running = false;
  let again = false;
  return async function refresh() {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        const response = await fetch(url, { cache: 'no-store', headers: { Accept: 'text/html' } });
        if (!response.ok) throw new Error('HTTP ' + response.status);
        target.innerHTML = await response.text();
        onState(true);
        if (after) after();
      } while (again);
    } catch (_) {
      onState(false);
    } finally {
      running = false;
    }
  };
};
