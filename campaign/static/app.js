// redpack campaign page: polls the JSON summary and updates the numbers in
// place. Shipped inside the binary; no third-party code. Values are written
// with textContent only, never as HTML.
(function () {
  "use strict";
  var root = document.getElementById("campaign");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var every = parseInt(root.getAttribute("data-refresh"), 10) || 1000;

  function set(field, value) {
    var els = root.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < els.length; i++) {
      var s = value === null || value === undefined ? "" : String(value);
      if (els[i].textContent !== s) { els[i].textContent = s; }
    }
  }

  function failures(list) {
    var body = document.getElementById("failures");
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!list || list.length === 0) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = document.createElement("td");
      td.colSpan = 5;
      td.textContent = "No failed rows.";
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    list.forEach(function (f) {
      var tr = document.createElement("tr");
      var code = document.createElement("code");
      code.textContent = f.err_code;
      var cells = [code, String(f.rows), f.yuan, String(f.retryable), f.advice];
      cells.forEach(function (c, i) {
        var td = document.createElement("td");
        if (typeof c === "string") { td.textContent = c; } else { td.appendChild(c); }
        if (i >= 1 && i <= 3) { td.className = "n"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function apply(s) {
    ["state", "rows", "planned", "paid", "failed", "unknown", "pending", "conflict", "workers",
     "paid_yuan", "failed_yuan", "unknown_yuan", "total_yuan", "rate_text"].forEach(function (k) {
      set(k, s[k]);
    });
    set("percent", s.percent.toFixed(1));
    var st = document.getElementById("state");
    if (st) { st.className = "badge st-" + s.state; }
    var p = document.getElementById("progress");
    if (p) { p.max = Math.max(s.rows, 1); p.value = s.paid + s.failed; }
    var paused = s.paused !== null && s.paused !== undefined;
    set("paused", paused ? s.paused : "");
    document.getElementById("paused-banner").hidden = !paused;
    document.getElementById("pause-form").hidden = paused;
    document.getElementById("resume-form").hidden = !paused;
    document.getElementById("conflict-banner").hidden = !(s.conflict > 0);
    failures(s.failures);
    rowsRate(s);
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    root.setAttribute("data-polls", String((parseInt(root.getAttribute("data-polls"), 10) || 0) + 1));
  }

  // The rows settled per second, from this page's own readings over the
  // last 15 s, and the ETA at that pace; until two readings a few seconds
  // apart exist (or while paused or done), the server's ETA is shown.
  var readings = [];
  function rowsRate(s) {
    var now = Date.now(), settled = s.paid + s.failed;
    if (readings.length && settled < readings[readings.length - 1].n) { readings = []; }
    readings.push({ t: now, n: settled });
    while (readings.length > 2 && now - readings[0].t > 15000) { readings.shift(); }
    var first = readings[0], dt = (now - first.t) / 1000, rate = null;
    if (dt >= 3) { rate = (settled - first.n) / dt; }
    document.getElementById("rows-rate").textContent = rate === null ? "–" : rate.toFixed(1);
    var eta = s.eta_text, left = s.rows - settled;
    if (s.state === "running" && rate !== null && rate > 0 && left > 0) {
      var sec = Math.round(left / rate), m = Math.floor(sec / 60);
      eta = (m > 0 ? m + "m" : "") + (sec % 60) + "s";
    }
    document.getElementById("eta").textContent = eta;
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (s) { apply(s); root.classList.remove("stale"); })
      .catch(function () { root.classList.add("stale"); })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
