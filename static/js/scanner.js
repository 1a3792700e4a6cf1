/* eventsys: the door scanner page.
 *
 * Three ways in: the camera (BarcodeDetector where the browser has it, else the vendored jsQR decoder),
 * a keyboard-wedge field that is always focused and submits on Enter (USB/Bluetooth scanners type the code
 * and Enter), and a search by name. Every scan is POSTed to the JSON check-in API with a fresh nonce (a retry
 * after a network error reuses it, so it never checks anyone in twice). The answer fills the screen: green
 * ok, purple ok-but-look (needs, VIP), orange already checked in, red everything else; with a beep and a
 * vibration where the device has them. The page is ready for the next badge at once: the answer is an
 * overlay, the field keeps the focus, and the camera keeps decoding. The same code read again within
 * DEBOUNCE_MS is ignored (a badge held in front of the camera is read many times a second).
 *
 * A door device page carries the device's token (data-device-token) and sends it as a bearer token without
 * cookies; a logged-in door staff page sends its session cookie and the CSRF token header instead.
 *
 * Offline (static/js/offline-scanner.js, window.eventsysOffline): when the browser is offline or the server
 * does not answer, a badge scan is decided on the device from the synced door pack, shown marked "offline",
 * and queued for upload. */
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }
  var d = root.dataset;
  var token = d.deviceToken || null;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  // Read at each request: the offline module refreshes the token when it syncs.
  function currentCsrf() { return csrfMeta ? csrfMeta.content : ""; }
  var offline = window.eventsysOffline || null;
  var DEBOUNCE_MS = 1500;
  var SCAN_EVERY_MS = 120;
  var recent = {};
  var lastEntry = null;    // {id (null until the server has it), nonce, door, list}: what "Undo" undoes
  var hideTimer = null;

  var wedge = document.getElementById("wedge");
  var wedgeForm = document.getElementById("wedge-form");
  var doorInput = document.getElementById("door-name");
  var video = document.getElementById("camera-video");
  var canvas = document.getElementById("camera-canvas");
  var cameraStatus = document.getElementById("camera-status");
  var undoButton = document.getElementById("undo-last");
  var result = document.getElementById("result");
  var searchForm = document.getElementById("search-form");
  var searchInput = document.getElementById("search-q");
  var searchResults = document.getElementById("search-results");

  // --- talking to the API ----------------------------------------------------------------------------

  function headers(json) {
    var h = { "Accept": "application/json" };
    if (json) { h["Content-Type"] = "application/json"; }
    if (token) { h["Authorization"] = "Bearer " + token; } else { h["X-CSRFToken"] = currentCsrf(); }
    return h;
  }

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      headers: headers(body !== undefined),
      credentials: token ? "omit" : "same-origin",
      cache: "no-store",
      body: body !== undefined ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function newNonce() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function withId(template, id) { return template.replace("/0/", "/" + encodeURIComponent(id) + "/"); }

  function doorName() {
    if (token) { return d.door || ""; }
    return doorInput ? doorInput.value.trim() : "";
  }

  function direction() {
    var checked = root.querySelector('input[name="direction"]:checked');
    return checked ? checked.value : "in";
  }

  // --- feedback ---------------------------------------------------------------------------------------

  var audio = null;
  function unlockAudio() {
    if (audio || !(window.AudioContext || window.webkitAudioContext)) { return; }
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function beep(kind) {
    if (kind === "info") { return; }
    var pattern = { ok: [880], attention: [880, 1320], warn: [440, 440], bad: [220] }[kind] || [440];
    if (navigator.vibrate) {
      try { navigator.vibrate(kind === "ok" ? 80 : kind === "bad" ? [250, 80, 250] : [80, 60, 80]); } catch (e) { /* none */ }
    }
    if (!audio) { return; }
    var t = audio.currentTime;
    pattern.forEach(function (freq, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t + i * 0.14);
      osc.stop(t + i * 0.14 + (kind === "bad" ? 0.35 : 0.11));
    });
  }

  function kindOf(data) {
    if (data.result === "ok") { return data.attention && data.attention.length ? "attention" : "ok"; }
    if (data.result === "already_checked_in") { return "warn"; }
    if (data.result === "info") { return "info"; }
    return "bad";
  }

  function setText(id, text) { document.getElementById(id).textContent = text || ""; }

  function showResult(data) {
    var kind = kindOf(data);
    var person = data.attendee;
    result.className = "result result-" + kind;
    result.dataset.result = data.result;
    setText("result-title", data.message);
    setText("result-name", person ? person.name : "");
    var details = [];
    if (person) {
      if (person.organization) { details.push(person.organization); }
      if (person.category_label) { details.push(person.category_label); }
      if (data.result !== "ok" && person.status_label) { details.push(person.status_label); }
    }
    if (data.detail) { details.push(data.detail); }
    document.getElementById("result-offline").hidden = !data.offline;
    result.dataset.offline = data.offline ? "true" : "false";
    setText("result-detail", details.join(" · "));
    var first = data.first_checkin;
    setText("result-first", first ? d.tFirst + ": " + first.scanned_at_local + (first.door ? " " + d.tAtDoor + " " + first.door : "") : "");
    var list = document.getElementById("result-attention");
    list.textContent = "";
    (data.attention || []).forEach(function (reason) {
      var li = document.createElement("li");
      li.textContent = reason;
      list.appendChild(li);
    });
    result.hidden = false;
    beep(kind);
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(hideResult, kind === "ok" ? 2500 : 5000);
  }

  /** After a scan's answer: an entry can be undone with "Undo last check-in", online or offline. */
  function remember(data, body) {
    if (data.result === "ok" && data.checkin && data.checkin.direction === "in") {
      lastEntry = { id: data.checkin.id || null, nonce: body.nonce, door: body.door, list: body.list };
      undoButton.disabled = false;
    }
  }

  function showMessage(kind, text) {
    showResult({ result: kind === "bad" ? "error" : "info", message: text, attention: [] });
  }

  function hideResult() { result.hidden = true; }
  result.addEventListener("click", hideResult);

  // --- scanning ---------------------------------------------------------------------------------------

  function send(fields, retried) {
    var body = { nonce: newNonce(), scanned_at: new Date().toISOString(), door: doorName(), direction: direction() };
    if (d.list) { body.list = d.list; }
    Object.keys(fields).forEach(function (key) { body[key] = fields[key]; });
    // Entries and exits by code, and people found by name in the door pack (badgeId), can be decided here.
    var canDecideHere = Boolean(offline && (fields.code || fields.badgeId));
    var decideHere = function () {
      return offline.scanOffline({
        code: body.code, badgeId: body.badgeId, nonce: body.nonce, scanned_at: body.scanned_at, door: body.door,
        list: body.list, kind: body.direction === "out" ? "exit" : "checkin"
      }).then(function (data) { showResult(data); remember(data, body); })
        .catch(function () { showMessage("bad", d.tNetwork); });
    };
    if (offline && offline.isWiped()) { showMessage("bad", d.tRevokedDoor); return Promise.resolve(); }
    if (fields.badgeId || (offline && !offline.isOnline())) {
      if (canDecideHere) { return decideHere(); }
      showMessage("bad", d.tNetwork);
      return Promise.resolve();
    }
    var attempt = function (isRetry) {
      return call("POST", d.checkinUrl, body).then(function (answer) {
        if (answer.data && answer.data.result) {
          showResult(answer.data);
          remember(answer.data, body);
          if (offline) { offline.noteOnline(body, answer.data); }
          return;
        }
        if (offline && (answer.status === 401 || answer.status === 403)) { offline.refresh(false); }
        showMessage("bad", (answer.data && answer.data.message) || ("HTTP " + answer.status));
      }).catch(function () {
        // The same nonce: if the first request did arrive, the retry gets its answer, never a second entry.
        if (!isRetry) { return attempt(true); }
        if (canDecideHere) { offline.markUnreachable(); return decideHere(); }
        showMessage("bad", d.tNetwork);
      });
    };
    return attempt(Boolean(retried));
  }

  function submitCode(raw) {
    var code = (raw || "").trim();
    if (!code) { return; }
    var now = Date.now();
    if (recent[code] && now - recent[code] < DEBOUNCE_MS) { return; }
    recent[code] = now;
    send({ code: code });
  }

  wedgeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = wedge.value;
    wedge.value = "";
    submitCode(code);
  });

  // The wedge field keeps the focus unless staff are typing somewhere else.
  window.setInterval(function () {
    var active = document.activeElement;
    if (!active || active === document.body || active === result) { wedge.focus(); }
  }, 400);

  if (doorInput) {
    // The door typed last time, unless staff already typed one while the page was loading.
    try {
      if (!doorInput.value.trim()) { doorInput.value = window.localStorage.getItem("eventsys-door") || ""; }
    } catch (e) { /* private mode */ }
    doorInput.addEventListener("change", function () {
      try { window.localStorage.setItem("eventsys-door", doorInput.value.trim()); } catch (e) { /* private mode */ }
    });
  }

  // --- the camera -------------------------------------------------------------------------------------

  var detector = null;
  if ("BarcodeDetector" in window) {
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
  }
  var context = canvas.getContext("2d", { willReadFrequently: true });

  function decodeFrame() {
    if (video.readyState < 2 || !video.videoWidth) { return Promise.resolve(null); }
    if (detector) {
      return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
    }
    if (!window.jsQR) { return Promise.resolve(null); }
    var scale = Math.min(1, 800 / video.videoWidth);
    var w = Math.round(video.videoWidth * scale);
    var h = Math.round(video.videoHeight * scale);
    canvas.width = w;
    canvas.height = h;
    context.drawImage(video, 0, 0, w, h);
    var image = context.getImageData(0, 0, w, h);
    var found = window.jsQR(image.data, w, h, { inversionAttempts: "dontInvert" });
    return Promise.resolve(found ? found.data : null);
  }

  function tick() {
    decodeFrame().then(function (code) { if (code) { submitCode(code); } })
      .catch(function () { /* one bad frame */ })
      .then(function () { window.setTimeout(tick, SCAN_EVERY_MS); });
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraStatus.textContent = d.tCameraOff;
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        return video.play();
      })
      .then(function () { root.dataset.camera = "on"; tick(); })
      .catch(function () { cameraStatus.textContent = d.tCameraOff; });
  }

  // --- undo -------------------------------------------------------------------------------------------

  /** Offline, or for a check-in the server does not have yet: the undo is queued and uploaded with the scans. */
  function undoLater(last) {
    return offline.undoOffline(last).then(function (data) {
      lastEntry = null;
      recent = {};
      showResult(data);
      if (offline.isOnline()) { offline.refresh(false); }
    }).catch(function () { undoButton.disabled = false; showMessage("bad", d.tNetwork); });
  }

  undoButton.addEventListener("click", function () {
    if (!lastEntry) { return; }
    var last = lastEntry;
    undoButton.disabled = true;
    if (offline && (!last.id || !offline.isOnline())) { undoLater(last); return; }
    call("POST", withId(d.annulUrl, last.id), {}).then(function (answer) {
      if (answer.ok) {
        if (offline) { offline.forgetEntry(last.id); }
        lastEntry = null;
        recent = {};
        showMessage("info", d.tUndoDone);
      } else {
        undoButton.disabled = false;
        showMessage("bad", (answer.data && answer.data.message) || ("HTTP " + answer.status));
      }
    }).catch(function () {
      if (offline) { offline.markUnreachable(); undoLater(last); return; }
      undoButton.disabled = false;
      showMessage("bad", d.tNetwork);
    });
  });

  // --- search, check in by name, print at the door ----------------------------------------------------

  function button(label, onClick, secondary) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (secondary) { b.className = "secondary"; }
    b.addEventListener("click", onClick);
    return b;
  }

  function printBadge(person, reissue) {
    if (reissue && !window.confirm(d.tReissueConfirm)) { return; }
    var tab = window.open("", "_blank");
    call("POST", withId(d.badgeUrl, person.registration_id), { reissue: reissue }).then(function (answer) {
      if (!answer.ok) { throw new Error((answer.data && answer.data.message) || ("HTTP " + answer.status)); }
      return fetch(answer.data.pdf_url, { headers: headers(false), credentials: token ? "omit" : "same-origin" });
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      if (tab) {
        tab.location.href = url;
        tab.addEventListener("load", function () { try { tab.print(); } catch (e) { /* the viewer's own button */ } });
      } else {
        window.location.href = url;
      }
      if (reissue) { runSearch(); }
    }).catch(function (error) {
      if (tab) { tab.close(); }
      showMessage("bad", error.message || d.tNetwork);
    });
  }

  function renderResults(people, fromPack) {
    searchResults.textContent = "";
    searchResults.dataset.source = fromPack ? "pack" : "server";
    if (!people.length) {
      var none = document.createElement("li");
      none.textContent = d.tNoResults;
      searchResults.appendChild(none);
      return;
    }
    people.forEach(function (person) {
      var li = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = person.name;
      li.appendChild(name);
      var bits = [person.organization, person.category_label, person.status_label].filter(Boolean);
      if (!person.has_badge) { bits.push(d.tNoBadge); }
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + bits.join(" · ");
      li.appendChild(meta);
      if (person.needs) {
        var needs = document.createElement("p");
        needs.className = "needs";
        needs.textContent = d.tNeeds + ": " + person.needs;
        li.appendChild(needs);
      }
      var actions = document.createElement("div");
      actions.className = "actions";
      if (fromPack) {
        // From the door pack (offline): check in by badge; printing needs the server.
        if (person.checked_in) { meta.textContent += " · " + d.tCheckedIn; }
        actions.appendChild(button(d.tCheckIn, function () { send({ badgeId: person.badge_id }); }));
      } else if (person.status === "confirmed" && person.mode === "in_person") {
        actions.appendChild(button(d.tCheckIn, function () { send({ registration_id: person.registration_id }); }));
        actions.appendChild(button(d.tPrint, function () { printBadge(person, false); }, true));
        if (person.has_badge) {
          actions.appendChild(button(d.tReissue, function () { printBadge(person, true); }, true));
        }
      }
      li.appendChild(actions);
      searchResults.appendChild(li);
    });
  }

  function runSearch() {
    var q = searchInput.value.trim();
    if (q.length < 2) { return; }
    var fromPack = function () { renderResults(offline.searchOffline(q), true); };
    if (offline && !offline.isOnline()) { fromPack(); return; }
    call("GET", d.searchUrl + "?q=" + encodeURIComponent(q)).then(function (answer) {
      renderResults(answer.ok && answer.data ? answer.data.attendees : [], false);
    }).catch(function () {
      if (offline) { offline.markUnreachable(); fromPack(); return; }
      showMessage("bad", d.tNetwork);
    });
  }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    runSearch();
  });

  startCamera();
  root.dataset.ready = "true";
})();
