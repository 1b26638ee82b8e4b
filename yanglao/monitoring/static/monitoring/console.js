// The operator console (告警中心): the open alarms, kept live over a WebSocket that reconnects by itself,
// an alert sound per severity made with the Web Audio API (no audio files), one-click actions posted with
// the CSRF token, and the service-level panel refreshed on every change and every 30 s (htmx).
//
// Rows are built with the DOM API from the payloads the server pushes (consumers.payload), never from
// HTML strings, so nothing an alarm carries can inject markup.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;

  function readJson(id) { return JSON.parse(document.getElementById(id).textContent); }
  var urls = readJson("console-urls");
  var T = readJson("console-text");
  var list = document.getElementById("alarm-list");
  var empty = document.getElementById("alarm-empty");
  var stateEl = document.getElementById("ws-state");
  var errorEl = document.getElementById("console-error");
  var csrf = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  })();

  var alarms = new Map();  // id -> payload
  var rows = new Map();    // id -> element
  var counts = {};         // severity -> open count in the user's whole scope (the list may be capped)
  var clockOffset = 0;     // server time minus this machine's, from the socket's hello
  var baseTitle = document.title;

  // --- sound ------------------------------------------------------------------------------------
  // Browsers start audio only after a gesture on the page: the operator clicks 点击开启提示音 once.
  var MUTE_KEY = "yanglao.console.muted";
  var audio = null;
  var muted = window.localStorage && localStorage.getItem(MUTE_KEY) === "1";
  var enableBtn = document.getElementById("sound-enable");
  var muteBtn = document.getElementById("sound-toggle");
  var PATTERNS = {
    critical: { freq: 880, type: "square", beeps: 3, len: 0.16, gap: 0.1, gain: 0.22 },
    urgent: { freq: 660, type: "triangle", beeps: 2, len: 0.22, gap: 0.14, gain: 0.25 },
    maintenance: { freq: 392, type: "sine", beeps: 1, len: 0.35, gap: 0, gain: 0.18 }
  };

  function soundButtons() {
    var on = !!audio;
    enableBtn.classList.toggle("d-none", on);
    muteBtn.classList.toggle("d-none", !on);
    muteBtn.textContent = muted ? T.unmute : T.mute;
    muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
    muteBtn.classList.toggle("btn-outline-secondary", !muted);
    muteBtn.classList.toggle("btn-secondary", muted);
    root.dataset.sound = !on ? "off" : muted ? "muted" : "on";
  }

  function play(severity) {
    root.dataset.lastAlert = severity;
    if (!audio || muted) return;
    if (audio.state === "suspended") audio.resume();
    var p = PATTERNS[severity] || PATTERNS.maintenance;
    var t = audio.currentTime + 0.02;
    for (var i = 0; i < p.beeps; i++) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = p.type;
      osc.frequency.setValueAtTime(p.freq, t);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(p.gain, t + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + p.len);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + p.len + 0.02);
      t += p.len + p.gap;
    }
    root.dataset.lastSound = severity;
  }

  enableBtn.addEventListener("click", function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { enableBtn.textContent = T.no_audio; enableBtn.disabled = true; return; }
    audio = new Ctx();
    audio.resume();
    muted = false;
    if (window.localStorage) localStorage.setItem(MUTE_KEY, "0");
    soundButtons();
    play("maintenance");  // a soft beep: the operator hears that sound works
  });
  muteBtn.addEventListener("click", function () {
    muted = !muted;
    if (window.localStorage) localStorage.setItem(MUTE_KEY, muted ? "1" : "0");
    soundButtons();
  });
  soundButtons();

  // An unanswered critical alarm keeps calling until someone responds.
  setInterval(function () {
    for (var a of alarms.values()) {
      if (a.severity === "critical" && a.status === "new") { play("critical"); return; }
    }
  }, 15000);

  // --- rows -------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function hhmmss(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("zh-CN", { hour12: false });
  }

  function waited(a) {
    var seconds = Math.max(0, Math.floor((Date.now() + clockOffset - new Date(a.raised_at).getTime()) / 1000));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return { seconds: seconds, text: m + ":" + (s < 10 ? "0" : "") + s };
  }

  function actionButton(kind, a, cls) {
    var b = el("button", "btn btn-sm " + cls, T[kind]);
    b.type = "button";
    b.dataset.action = kind;
    b.dataset.id = a.id;
    b.dataset.testid = kind + "-" + a.id;
    b.setAttribute("aria-label", T[kind] + " " + a.rule_label + " " + (a.elder_name || ""));
    return b;
  }

  function render(a) {
    var row = el("div", "list-group-item alarm-row sev-" + a.severity + " status-" + a.status);
    row.dataset.id = a.id;
    row.dataset.testid = "alarm-" + a.id;
    row.dataset.severity = a.severity;
    row.dataset.status = a.status;

    var head = el("div", "d-flex flex-wrap align-items-center gap-2");
    head.appendChild(el("span", "badge sev-badge sev-" + a.severity, a.severity_label));
    head.appendChild(el("strong", "alarm-rule", a.rule_label));
    var who = el("a", "alarm-elder", a.elder_name || T.no_elder);
    who.href = a.url;
    who.dataset.testid = "open-" + a.id;
    head.appendChild(who);
    head.appendChild(el("span", "small text-muted", a.region_name));
    var status = el("span", "badge status-badge status-" + a.status, a.status_label);
    status.dataset.testid = "status-" + a.id;
    head.appendChild(status);
    if (a.escalation_level) head.appendChild(el("span", "badge text-bg-danger", T.escalated + " ×" + a.escalation_level));
    var when = el("span", "ms-auto small text-nowrap alarm-time");
    when.appendChild(el("span", "", hhmmss(a.raised_at)));
    if (a.status === "new") {
      var w = el("span", "alarm-waited ms-2");
      w.dataset.waited = "1";
      when.appendChild(w);
    }
    head.appendChild(when);
    row.appendChild(head);

    var facts = [a.summary];
    if (a.message_count > 1) facts.push(T.messages.replace("%s", a.message_count));
    if (a.dispatched_to && a.dispatched_to.length) {
      facts.push(T.dispatched_to + a.dispatched_to.map(function (t) { return T.targets[t] || t; }).join("、"));
    }
    row.appendChild(el("div", "small mt-1 alarm-summary", facts.join(" · ")));

    if (a.open) {
      var actions = el("div", "d-flex flex-wrap gap-1 mt-2");
      if (a.status === "new") actions.appendChild(actionButton("acknowledge", a, "btn-danger"));
      actions.appendChild(actionButton("dispatch", a, "btn-outline-primary"));
      actions.appendChild(actionButton("resolve", a, "btn-outline-success"));
      var details = el("a", "btn btn-sm btn-link", T.details);
      details.href = a.url;
      actions.appendChild(details);
      row.appendChild(actions);
    }
    tick(row, a);
    return row;
  }

  function tick(row, a) {
    var w = row.querySelector("[data-waited]");
    if (!w) return;
    var t = waited(a);
    w.textContent = T.waited + " " + t.text;
    w.classList.toggle("text-danger", t.seconds >= 60);
    w.classList.toggle("fw-bold", t.seconds >= 60);
  }

  function before(a, b) {
    if (a.severity_rank !== b.severity_rank) return a.severity_rank < b.severity_rank;
    if (a.raised_at !== b.raised_at) return a.raised_at > b.raised_at;
    return a.id > b.id;
  }

  function place(row, a) {
    var next = null;
    for (var child of list.children) {
      var other = alarms.get(Number(child.dataset.id));
      if (child !== row && other && before(a, other)) { next = child; break; }
    }
    if (row.parentNode !== list || row.nextSibling !== next) list.insertBefore(row, next);
  }

  function showEmpty() {
    empty.classList.toggle("d-none", alarms.size > 0);
    var news = 0;
    for (var a of alarms.values()) if (a.status === "new") news++;
    document.title = (news ? "(" + news + ") " : "") + baseTitle;
    root.dataset.open = String(alarms.size);
  }

  function showCounts() {
    document.querySelectorAll("[data-count]").forEach(function (node) {
      node.textContent = String(Math.max(0, counts[node.dataset.count] || 0));
    });
  }

  // Put an alarm in the list, replace its row, or take it out once resolved. Returns whether it is new.
  function upsert(a, fresh) {
    var known = alarms.get(a.id);
    var row = rows.get(a.id);
    if (!a.open) {
      if (known) {
        alarms.delete(a.id);
        rows.delete(a.id);
        counts[known.severity] = (counts[known.severity] || 1) - 1;
        if (row) row.remove();
      }
      return false;
    }
    if (known && known.raised_at === a.raised_at && known.status === a.status &&
        known.message_count === a.message_count && known.escalation_level === a.escalation_level &&
        (known.dispatched_to || []).join() === (a.dispatched_to || []).join()) {
      return false;
    }
    var replacement = render(a);
    if (fresh && !known) replacement.classList.add("alarm-arrived");
    alarms.set(a.id, a);
    rows.set(a.id, replacement);
    if (row) row.replaceWith(replacement);
    place(replacement, a);
    if (!known) counts[a.severity] = (counts[a.severity] || 0) + 1;
    return !known;
  }

  function afterChange() {
    showEmpty();
    showCounts();
    refreshServiceLevel();
  }

  var slTimer = null;
  function refreshServiceLevel() {
    // Several changes in a burst refresh the panel once.
    clearTimeout(slTimer);
    slTimer = setTimeout(function () {
      var panel = document.getElementById("service-level");
      if (panel && window.htmx) window.htmx.trigger(panel, "sl-refresh");
    }, 800);
  }

  // A signed-out session answers the panel's refresh with the login page: keep the panel, say so.
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf(urls.service_level) === -1) {
      e.detail.shouldSwap = false;
      stopped = true;
      if (socket) socket.close();
      setState("refused");
    }
  });

  setInterval(function () {
    rows.forEach(function (row, id) { tick(row, alarms.get(id)); });
  }, 1000);

  // --- the socket ---------------------------------------------------------------------------------
  var socket = null, attempt = 0, pinger = null, stopped = false;

  function setState(state, seconds) {
    stateEl.dataset.state = state;
    root.dataset.ws = state;
    stateEl.className = "badge rounded-pill ws-state " + ({
      connecting: "text-bg-secondary", open: "text-bg-success", reconnecting: "text-bg-warning", refused: "text-bg-danger"
    }[state] || "text-bg-secondary");
    stateEl.textContent = state === "reconnecting" ? T.reconnecting.replace("%s", seconds) : T[state];
  }

  function connect() {
    if (stopped) return;
    setState("connecting");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var opened = false;
    socket = new WebSocket(scheme + location.host + urls.ws);
    socket.onopen = function () {
      opened = true;
      attempt = 0;
      setState("open");
      resync(false);
      pinger = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: "ping", t: Date.now() }));
      }, 25000);
    };
    socket.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.event === "hello" || m.event === "pong") {
        if (m.t) clockOffset = m.t - Date.now();
        return;
      }
      // One alarm ("alarm"), or several at once ("alarms": a second's growing counts, a batch's raises).
      var list = m.alarms || (m.alarm ? [m.alarm] : []);
      if (!list.length) return;
      var raised = m.event === "raised";
      var loud = null;
      list.forEach(function (a) {
        if (upsert(a, raised) && raised && (!loud || a.severity_rank < PATTERNS_RANK[loud])) loud = a.severity;
      });
      if (loud) play(loud);
      afterChange();
    };
    socket.onclose = function () {
      clearInterval(pinger);
      if (stopped) return;
      if (!opened) {
        // A refused handshake looks like any failed connection: ask the server whether we may listen.
        resync(true);
      }
      attempt++;
      var delay = Math.min(15, Math.pow(2, attempt - 1));
      setState("reconnecting", delay);
      setTimeout(connect, delay * 1000);
    };
  }

  // A safety net under the socket: alarms pushed where this server cannot hear them (a worker in
  // another process with no shared channel layer) still appear within 20 s.
  setInterval(function () { if (!stopped) resync(false); }, 20000);

  // Reload the open alarms (on connection: some may have come or gone while the socket was down).
  function resync(checkOnly) {
    return fetch(urls.alarms, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.redirected || r.status === 401 || r.status === 403) {
          stopped = true;
          if (socket) socket.close();
          setState("refused");
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data || checkOnly) return;
        var seen = new Set();
        var loud = null;
        data.alarms.forEach(function (a) {
          seen.add(a.id);
          if (upsert(a, true) && (!loud || a.severity_rank < PATTERNS_RANK[loud])) loud = a.severity;
        });
        alarms.forEach(function (a, id) {
          if (!seen.has(id)) upsert(Object.assign({}, a, { open: false }), false);
        });
        counts = Object.assign({}, data.counts);
        if (loud) play(loud);
        afterChange();
      })
      .catch(function () { /* the socket's own retry brings us back */ });
  }
  var PATTERNS_RANK = { critical: 0, urgent: 1, maintenance: 2 };

  // --- actions ------------------------------------------------------------------------------------
  function urlFor(kind, id) { return urls[kind].replace("/alarms/0/", "/alarms/" + id + "/"); }

  function showError(message, where) {
    var target = where || errorEl;
    target.textContent = message;
    target.classList.remove("d-none");
    if (!where) setTimeout(function () { errorEl.classList.add("d-none"); }, 8000);
  }

  function post(kind, id, form) {
    return fetch(urlFor(kind, id), {
      method: "POST",
      body: form ? new FormData(form) : new FormData(),
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return { message: T.failed + " (" + r.status + ")" }; })
        .then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (result) {
      if (result.ok && result.data.alarm) {
        upsert(result.data.alarm, false);
        afterChange();
      }
      return result;
    });
  }

  var modals = {};
  function modal(kind) {
    if (!modals[kind]) {
      var node = document.getElementById(kind + "-modal");
      modals[kind] = { node: node, form: node.querySelector("form"), ui: window.bootstrap ? bootstrap.Modal.getOrCreateInstance(node) : null };
    }
    return modals[kind];
  }

  function openForm(kind, a) {
    var m = modal(kind);
    m.form.reset();
    m.form.dataset.id = a.id;
    m.form.querySelector("[data-form-error]").textContent = "";
    m.node.querySelector("[data-alarm-title]").textContent = a.rule_label + " · " + (a.elder_name || "");
    if (m.ui) m.ui.show();
  }

  ["dispatch", "resolve"].forEach(function (kind) {
    var m = modal(kind);
    m.form.addEventListener("submit", function (e) {
      e.preventDefault();
      var submit = m.form.querySelector("[type=submit]");
      submit.disabled = true;
      post(kind, m.form.dataset.id, m.form).then(function (result) {
        submit.disabled = false;
        if (result.ok) { if (m.ui) m.ui.hide(); return; }
        showError(result.data.message || T.failed, m.form.querySelector("[data-form-error]"));
      }, function () {
        submit.disabled = false;
        showError(T.failed, m.form.querySelector("[data-form-error]"));
      });
    });
  });

  list.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (!button) return;
    var id = Number(button.dataset.id);
    var a = alarms.get(id);
    if (!a) return;
    if (button.dataset.action === "acknowledge") {
      button.disabled = true;
      post("acknowledge", id).then(function (result) {
        button.disabled = false;
        if (!result.ok) showError(result.data.message || T.failed);
      }, function () { button.disabled = false; showError(T.failed); });
    } else {
      openForm(button.dataset.action, a);
    }
  });

  // --- start --------------------------------------------------------------------------------------
  readJson("console-alarms").forEach(function (a) {
    alarms.set(a.id, a);
    var row = render(a);
    rows.set(a.id, row);
    list.appendChild(row);  // already in console order
  });
  document.querySelectorAll("[data-count]").forEach(function (node) {
    counts[node.dataset.count] = Number(node.textContent) || 0;
  });
  showEmpty();
  connect();
})();
