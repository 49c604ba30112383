"use strict";
/* The leaders' dashboard while it shows "now": it fetches itself again every so often and
   swaps in the fresh figures, and draws today's waiting times from the queue's public
   statistics (or says they are missing). A past view ("as of") loads no script at all. */
(function () {
  var status = document.getElementById("live-status");
  var every = Number(document.getElementById("live").dataset.refreshMs);
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); }  // signed out: show the sign-in page
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        var current = document.getElementById("live");
        if (fresh && current) { current.replaceWith(document.adoptNode(fresh)); }
        status.hidden = true;
      })
      .catch(function () { status.textContent = status.dataset.stale; status.hidden = false; });
  }
  window.setInterval(refresh, every);

  // The queue publishes today's waiting times; draw them as bars, or say they are missing.
  var SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function drawWaiting() {
    var fig = document.querySelector("[data-testid=queue-waiting]");
    var missing = document.querySelector("[data-testid=queue-stats-unavailable]");
    if (!fig) { return; }
    fetch(fig.dataset.source, { credentials: "omit" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        var w = 640, h = 260, left = 48, bottom = 56, top = 16;
        var max = Math.max(1, Math.max.apply(null, data.buckets.map(function (b) { return b.count; })));
        var band = (w - left - 8) / data.buckets.length;
        var svg = el("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "data-testid": "chart-waiting",
          "aria-label": fig.dataset.axisLabel });
        svg.appendChild(el("line", { x1: left, y1: h - bottom, x2: w - 8, y2: h - bottom, stroke: "#333" }));
        data.buckets.forEach(function (b, i) {
          var bh = (h - bottom - top) * b.count / max, x = left + i * band + 6;
          svg.appendChild(el("rect", { x: x, y: h - bottom - bh, width: band - 12, height: bh,
            fill: "#0b3d91", "data-testid": "waiting-bar", "data-label": b.label, "data-value": b.count }));
          svg.appendChild(el("text", { x: x + (band - 12) / 2, y: h - bottom - bh - 4, "text-anchor": "middle",
            "font-size": 14 }, String(b.count)));
          svg.appendChild(el("text", { x: x + (band - 12) / 2, y: h - bottom + 20, "text-anchor": "middle",
            "font-size": 14 }, b.label));
        });
        svg.appendChild(el("text", { x: w / 2, y: h - 12, "text-anchor": "middle", "font-size": 15 },
          fig.dataset.axisLabel + " · " + data.calls + " " + fig.dataset.callsLabel));
        var old = fig.querySelector("svg");
        if (old) { old.replaceWith(svg); } else { fig.appendChild(svg); }
        missing.hidden = true;
        showAppointments(data.appointments);
      })
      .catch(function () { missing.hidden = false; });
  }
  // Bookings, check-ins, no-shows and the mean wait of booked citizens against walk-ins.
  function showAppointments(a) {
    var box = document.querySelector("[data-testid=queue-appointments]");
    if (!box || !a) { return; }
    box.querySelectorAll("[data-field]").forEach(function (dd) {
      var v = a[dd.dataset.field];
      var seconds = dd.dataset.field.indexOf("seconds") >= 0;
      dd.textContent = v === null ? "–" : seconds ? Math.round(v / 60) + " min" : String(v);
    });
    box.hidden = false;
  }
  drawWaiting();
  window.setInterval(drawWaiting, every);
})();
