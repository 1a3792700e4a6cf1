/* eventsys: the door scanner offline (used by scanner.js as window.eventsysOffline).
 *
 * While online, the page keeps a "door pack" for its event and check-in list in IndexedDB (GET
 * /api/v1/events/<slug>/door-pack?list=<id>&since=<cursor>): the event's Ed25519 public key, the revoked
 * badges, the attendee summaries door access may see (keyed by badge id), the list's live entries, and the
 * conflicts of offline scans (duplicates, refusals). It re-syncs every minute and on reconnect, with the
 * cursor of the last sync, so only changes travel (a page load fetches the whole pack).
 *
 * Offline (or when the server does not answer), a scan is decided here: the code's signature is verified
 * with WebCrypto Ed25519 and the event's public key, then the revoked badges, the list's day and
 * categories, and the local entries are checked; the screen is the same green/purple/orange/red, marked
 * "offline". An entry is queued in IndexedDB with its nonce, door and scan time, and uploaded
 * (POST .../checkins/batch) as soon as the server answers again; the server keeps the earliest scan time
 * and reports duplicates and refusals, which the next sync shows under "Offline scans to look at".
 *
 * A 401/403 (a revoked door device, a session that ended) deletes everything stored and says so; logging
 * out, or "Forget this device", does the same after a last upload. The stored data is never more than the
 * door sees online: no email, no registration id, no token other than the page's own.
 *
 * Badge code (see eventsys/checkin/badges.py): 128 base32 characters = 80 bytes: version (1), event id (4,
 * big-endian), badge id (4), nonce (7), then the 64-byte Ed25519 signature of the first 16 bytes. */
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root || !window.indexedDB) { return; }
  var d = root.dataset;
  var token = d.deviceToken || null;
  var DB_NAME = "eventsys-door";
  var SYNC_EVERY_MS = 60 * 1000;
  var UPLOAD_CHUNK = 100;
  var VIP = ["speaker", "embassy"];
  var listId = d.list || "";
  var packKey = (d.eventSlug || "") + ":" + listId;
  var messages = {};
  try { messages = JSON.parse(d.messages || "{}"); } catch (e) { messages = {}; }

  var pack = null;         // the door pack (one record per event and list)
  var verifyKey = null;    // the imported CryptoKey
  var queuedCount = 0;
  var reachable = true;    // the last request reached the server
  var busy = null;         // the running sync/upload, so two never overlap
  var dbPromise = null;
  var wiped = false;
  var paused = false;      // a logout is uploading and clearing (static/js/door-logout.js)
  var listeners = [];

  // --- IndexedDB -------------------------------------------------------------------------------------

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var request = window.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("packs")) { db.createObjectStore("packs", { keyPath: "key" }); }
        if (!db.objectStoreNames.contains("queue")) {
          var queue = db.createObjectStore("queue", { keyPath: "nonce" });
          queue.createIndex("pack", "pack");
        }
      };
      request.onsuccess = function () {
        var db = request.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { reject(request.error); };
    });
    return dbPromise;
  }

  function tx(stores, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var value;
        t.oncomplete = function () { resolve(value); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
        value = work(t);
      });
    });
  }

  function asPromise(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function loadPack() {
    return openDb().then(function (db) {
      return asPromise(db.transaction("packs").objectStore("packs").get(packKey));
    });
  }

  function savePack() {
    return tx(["packs"], "readwrite", function (t) { t.objectStore("packs").put(pack); });
  }

  function queuedScans() {
    return openDb().then(function (db) {
      return asPromise(db.transaction("queue").objectStore("queue").index("pack").getAll(packKey));
    });
  }

  function countQueue() {
    return openDb().then(function (db) {
      return asPromise(db.transaction("queue").objectStore("queue").index("pack").count(packKey));
    }).then(function (n) { queuedCount = n; render(); return n; });
  }

  // --- the code ---------------------------------------------------------------------------------------

  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function base32decode(text) {
    if (!/^[A-Z2-7]{128}$/.test(text)) { return null; }
    var out = new Uint8Array(80);
    var bits = 0, value = 0, index = 0;
    for (var i = 0; i < text.length; i++) {
      value = (value << 5) | ALPHABET.indexOf(text.charAt(i));
      bits += 5;
      if (bits >= 8) { out[index++] = (value >>> (bits - 8)) & 255; bits -= 8; }
    }
    return out;
  }

  function uint32(bytes, offset) {
    return ((bytes[offset] << 24) >>> 0) + (bytes[offset + 1] << 16) + (bytes[offset + 2] << 8) + bytes[offset + 3];
  }

  /** The claims of a code (event id, badge id) without checking its signature; null if it is not one. */
  function parseCode(code) {
    var raw = base32decode(String(code || "").trim().toUpperCase());
    if (!raw || raw[0] !== 1) { return null; }
    return { raw: raw, eventId: uint32(raw, 1), badgeId: uint32(raw, 5) };
  }

  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = window.atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function importKey() {
    verifyKey = null;
    if (!pack || !pack.publicKey || !window.crypto || !window.crypto.subtle) { return Promise.resolve(null); }
    return window.crypto.subtle.importKey("raw", fromBase64url(pack.publicKey), { name: "Ed25519" }, false, ["verify"])
      .then(function (key) { verifyKey = key; return key; })
      .catch(function () { return null; });
  }

  // --- deciding offline --------------------------------------------------------------------------------

  function localDay(date, zone) {
    try {
      var parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
        .formatToParts(date);
      var get = function (type) { return parts.filter(function (p) { return p.type === type; })[0].value; };
      return get("year") + "-" + get("month") + "-" + get("day");
    } catch (e) { return date.toISOString().slice(0, 10); }
  }

  function localTime(iso, zone) {
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
        timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit"
      }).format(new Date(iso));
    } catch (e) { return iso; }
  }

  function answer(result, person, extra) {
    var data = { result: result, message: messages[result] || result, attendee: person || null, attention: [], offline: true };
    Object.keys(extra || {}).forEach(function (key) { data[key] = extra[key]; });
    return data;
  }

  function attentionOf(person) {
    var reasons = [];
    if (!person) { return reasons; }
    if (person.needs) { reasons.push(d.tNeedsReason.replace("{needs}", person.needs)); }
    if (VIP.indexOf(person.category) >= 0) { reasons.push(d.tVipReason.replace("{category}", person.category_label || person.category)); }
    return reasons;
  }

  function queueItem(body, extra) {
    var item = { nonce: body.nonce, pack: packKey, slug: d.eventSlug || "", list: body.list || listId, door: body.door || "", scanned_at: body.scanned_at };
    Object.keys(extra).forEach(function (key) { item[key] = extra[key]; });
    return item;
  }

  function store(item) {
    return tx(["packs", "queue"], "readwrite", function (t) {
      t.objectStore("packs").put(pack);
      t.objectStore("queue").put(item);
    }).then(function () { queuedCount += 1; render(); });
  }

  /** The badge id of a code whose signature is the event's (verified here), or an answer refusing it. */
  function verified(code) {
    var claims = parseCode(code);
    if (!claims) { return Promise.resolve({ refusal: answer("invalid") }); }
    if (claims.eventId !== pack.event.id) { return Promise.resolve({ refusal: answer("wrong_event") }); }
    var keyReady = verifyKey ? Promise.resolve(verifyKey) : importKey();
    return keyReady.then(function (key) {
      if (!key) { return false; }
      return window.crypto.subtle.verify({ name: "Ed25519" }, key, claims.raw.slice(16, 80), claims.raw.slice(0, 16));
    }).then(function (valid) {
      return valid ? { id: String(claims.badgeId) } : { refusal: answer("invalid") };
    });
  }

  /** An exit offline (lists that take exits): closes the local entry and queues the exit. */
  function exitOffline(body) {
    return verified(body.code).then(function (found) {
      if (found.refusal) { return found.refusal; }
      var id = found.id;
      var person = pack.attendees[id] || null;
      if (!pack.checkins[id]) { return answer("not_checked_in", person); }
      delete pack.checkins[id];
      return store(queueItem(body, { kind: "exit", code: body.code.trim().toUpperCase(), badge: id })).then(function () {
        var data = answer("ok", person, { queued: true, message: d.tExitOk, checkin: { id: null, direction: "out", nonce: body.nonce } });
        if (!person) { data.detail = d.tUnknownPerson; }
        return data;
      });
    });
  }

  /** Decide a scan from the door pack and queue it. ``body``: {code | badgeId, nonce, scanned_at, door, list,
   * kind: "checkin" (default) or "exit"}; ``badgeId`` is someone found by name in the door pack. */
  function scanOffline(body) {
    if (!pack) { return Promise.resolve({ result: "error", message: d.tNoPack, attention: [], offline: true }); }
    if (body.kind === "exit") { return exitOffline(body); }
    var found = body.badgeId ? Promise.resolve({ id: String(body.badgeId) }) : verified(body.code);
    return found.then(function (found) {
      if (found.refusal) { return found.refusal; }
      var id = found.id;
      if (pack.revoked[id]) { return answer("revoked"); }
      var person = pack.attendees[id] || null;
      var scannedAt = new Date(body.scanned_at);
      if (pack.list.day) {
        var today = localDay(scannedAt, pack.event.timezone);
        if (today < pack.list.day) { return answer("not_yet_open", person); }
        if (today > pack.list.day) { return answer("list_closed", person); }
      }
      if (pack.list.categories && !(person && pack.list.categories.indexOf(person.category) >= 0)) {
        return answer("not_admitted", person);
      }
      var first = pack.checkins[id];
      if (first) {
        return answer("already_checked_in", person, {
          first_checkin: { door: first.door, scanned_at: first.scanned_at, scanned_at_local: first.scanned_at_local || localTime(first.scanned_at, pack.event.timezone) }
        });
      }
      var entry = { door: body.door || "", scanned_at: body.scanned_at, scanned_at_local: localTime(body.scanned_at, pack.event.timezone), nonce: body.nonce, local: true };
      pack.checkins[id] = entry;
      var extra = { kind: "checkin", badge: id };
      if (body.badgeId) { extra.badgeId = id; } else { extra.code = body.code.trim().toUpperCase(); }
      return store(queueItem(body, extra)).then(function () {
        var data = answer("ok", person, { attention: attentionOf(person), queued: true, checkin: { id: null, direction: "in", nonce: body.nonce } });
        if (!person) { data.detail = d.tUnknownPerson; }
        return data;
      });
    });
  }

  /** Undo a check-in offline (or one not uploaded yet): queue an undo of its nonce; the entry is no longer live here. */
  function undoOffline(last) {
    if (!pack) { return Promise.resolve({ result: "error", message: d.tNoPack, attention: [], offline: true }); }
    var id = null;
    Object.keys(pack.checkins).forEach(function (badge) { if (pack.checkins[badge].nonce === last.nonce) { id = badge; } });
    if (id !== null) { delete pack.checkins[id]; }
    var body = { nonce: newNonce(), scanned_at: new Date().toISOString(), door: last.door || "", list: last.list || listId };
    return store(queueItem(body, { kind: "annul", annuls: last.nonce, badge: id })).then(function () {
      return { result: "info", message: d.tUndoQueued, attention: [], offline: true, queued: true };
    });
  }

  function newNonce() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function fold(text) {
    return String(text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  }

  /** Search by name in the door pack: what door access sees online (no email), at most 20, by name. */
  function searchOffline(query) {
    var q = fold(query);
    if (!pack || q.length < 2) { return []; }
    var found = [];
    Object.keys(pack.attendees).forEach(function (id) {
      var person = pack.attendees[id];
      if (fold(person.name).indexOf(q) >= 0) {
        var copy = { badge_id: Number(id), has_badge: true, checked_in: Boolean(pack.checkins[id]) };
        Object.keys(person).forEach(function (key) { copy[key] = person[key]; });
        found.push(copy);
      }
    });
    found.sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : a.badge_id - b.badge_id; });
    return found.slice(0, 20);
  }

  /** After an online scan: remember the entry locally, so a door that drops off the network knows it. */
  function noteOnline(body, data) {
    if (!pack || !data || data.result !== "ok" || !data.checkin || data.checkin.direction !== "in") { return; }
    var claims = parseCode(body.code || "");
    if (!claims) { return; }
    pack.checkins[String(claims.badgeId)] = {
      id: data.checkin.id, door: data.checkin.door, scanned_at: data.checkin.scanned_at,
      scanned_at_local: data.checkin.scanned_at_local, nonce: body.nonce
    };
    savePack().catch(function () { /* kept in memory */ });
  }

  /** After an undo: the entry is no longer live. */
  function forgetEntry(checkinId) {
    if (!pack) { return; }
    Object.keys(pack.checkins).forEach(function (id) {
      if (pack.checkins[id].id === checkinId) { delete pack.checkins[id]; }
    });
    savePack().catch(function () { /* kept in memory */ });
  }

  // --- talking to the server ---------------------------------------------------------------------------

  function headers(json) {
    var h = { "Accept": "application/json" };
    if (json) { h["Content-Type"] = "application/json"; }
    if (token) { h["Authorization"] = "Bearer " + token; } else { h["X-CSRFToken"] = currentCsrf(); }
    return h;
  }

  function currentCsrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method, headers: headers(body !== undefined), credentials: token ? "omit" : "same-origin",
      cache: "no-store", body: body !== undefined ? JSON.stringify(body) : undefined
    }).then(function (response) {
      reachable = true;
      if (response.status === 401 || response.status === 403) {
        return wipe(d.tRevokedDoor).then(function () { throw new Error("refused"); });
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }, function (error) {
      reachable = false;
      render();
      throw error;
    });
  }

  function emptyPack() {
    return { key: packKey, cursor: null, syncedAt: null, publicKey: null, event: null, list: null, attendees: {}, revoked: {}, checkins: {}, conflicts: {} };
  }

  function merge(data) {
    var queued = {};
    return queuedScans().then(function (items) {
      items.forEach(function (item) { if (item.badge) { queued[item.badge] = true; } });
      var next = pack && !data.full ? pack : emptyPack();
      if (data.full && pack) { next.conflicts = pack.conflicts || {}; }
      next.cursor = data.cursor;
      next.syncedAt = new Date().toISOString();
      next.publicKey = data.public_key;
      next.event = data.event;
      next.list = data.list;
      Object.keys(data.attendees).forEach(function (id) { next.attendees[id] = data.attendees[id]; });
      data.revoked.forEach(function (id) { next.revoked[String(id)] = true; delete next.attendees[String(id)]; });
      data.released.forEach(function (id) { if (!queued[String(id)]) { delete next.checkins[String(id)]; } });
      if (data.full && pack) {
        // Keep the entries still waiting for upload: the server does not know them yet.
        Object.keys(pack.checkins).forEach(function (id) {
          if (queued[id] && !data.checkins[id]) { next.checkins[id] = pack.checkins[id]; }
        });
      }
      Object.keys(data.checkins).forEach(function (id) { next.checkins[id] = data.checkins[id]; });
      // What is still queued happened after what the server knows: exits and undos end the local entry again.
      items.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; });
      items.forEach(function (item) {
        if ((item.kind === "exit" || item.kind === "annul") && item.badge) { delete next.checkins[String(item.badge)]; }
      });
      data.conflicts.forEach(function (conflict) { next.conflicts[conflict.nonce] = conflict; });
      if (data.door && token && data.door !== d.door) {
        // The organizer renamed this door: its next scans carry the new name.
        d.door = data.door;
        var where = root.querySelector(".scanner-where strong");
        if (where) { where.textContent = data.door; }
      }
      if (data.csrf_token) {
        var meta = document.querySelector('meta[name="csrf-token"]');
        if (meta) { meta.content = data.csrf_token; }
      }
      pack = next;
      return savePack().then(importKey);
    });
  }

  function sync(full) {
    var url = d.packUrl + "?list=" + encodeURIComponent(listId);
    if (!full && pack && pack.cursor) { url += "&since=" + encodeURIComponent(pack.cursor); }
    return request("GET", url).then(function (answer) {
      if (!answer.ok || !answer.data) { throw new Error("HTTP " + answer.status); }
      return merge(answer.data);
    }).then(function () { render(); notify(); });
  }

  function upload() {
    return queuedScans().then(function (items) {
      if (!items.length) { return null; }
      items.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; });
      var chunk = items.slice(0, UPLOAD_CHUNK);
      var scans = chunk.map(function (item) {
        return window.eventsysDoorData.toScan(item);  // static/js/door-logout.js, loaded on every scanner page
      });
      return request("POST", d.batchUrl, { scans: scans }).then(function (answer) {
        if (!answer.ok || !answer.data || !answer.data.results) { throw new Error("HTTP " + answer.status); }
        noteUndos(chunk, answer.data.results);
        // Every scan got its final answer (an error for a malformed one): none is sent again.
        return tx(["queue", "packs"], "readwrite", function (t) {
          answer.data.results.forEach(function (result) { if (result.nonce) { t.objectStore("queue").delete(result.nonce); } });
          if (pack) { t.objectStore("packs").put(pack); }
        });
      }).then(function () {
        noteUploaded(chunk.length);
        return items.length > UPLOAD_CHUNK ? upload() : null;
      });
    }).then(countQueue);
  }

  var uploadedTotal = 0;
  /** "N queued scans uploaded." in the status bar (plural forms from the page: data-t-uploaded-one/other). */
  function noteUploaded(count) {
    uploadedTotal += count;
    var note = document.getElementById("upload-note");
    if (!note) { return; }
    var rule = "other";
    try { rule = new Intl.PluralRules(document.documentElement.lang || undefined).select(uploadedTotal); } catch (e) { /* old browser */ }
    note.textContent = (rule === "one" ? d.tUploadedOne : d.tUploadedOther).replace("{count}", String(uploadedTotal));
    note.hidden = false;
  }

  /** The server's word on undos made offline, kept with the notices: an undo that changed nothing, or that
   * handed the entry to another door's scan. */
  function noteUndos(items, results) {
    if (!pack) { return; }
    var byNonce = {};
    items.forEach(function (item) { byNonce[item.nonce] = item; });
    results.forEach(function (result) {
      var item = byNonce[result.nonce];
      if (!item || result.kind !== "annul" || !result.result) { return; }
      var message = result.message;
      if (result.result === "annulled" && result.promoted) {
        message = d.tPromoted.replace("{door}", result.promoted.door || "?");
      } else if (result.result === "annulled") {
        return;
      }
      pack.conflicts[result.nonce] = {
        nonce: result.nonce, result: result.result, message: message, local: true,
        name: result.attendee ? result.attendee.name : null, door: item.door,
        scanned_at: item.scanned_at, created_at: new Date().toISOString()
      };
    });
  }

  /** Upload what is queued, then fetch what changed; one run at a time. */
  function refresh(full) {
    if (wiped || paused) { return Promise.resolve(); }
    if (busy) { return busy; }
    busy = upload().then(function () { return sync(full); }).catch(function () { /* offline: next time */ })
      .then(function () { busy = null; render(); });
    return busy;
  }

  // --- forgetting everything ---------------------------------------------------------------------------

  function postToWorker(message) {
    if (!navigator.serviceWorker || !navigator.serviceWorker.controller) { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function () { resolve(); };
      navigator.serviceWorker.controller.postMessage(message, [channel.port2]);
      window.setTimeout(resolve, 2000);
    });
  }

  function wipe(reason) {
    wiped = true;
    pack = null;
    verifyKey = null;
    queuedCount = 0;
    var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }).catch(function () {}) : Promise.resolve();
    dbPromise = null;
    return closing.then(function () {
      return new Promise(function (resolve) {
        var del = window.indexedDB.deleteDatabase(DB_NAME);
        del.onsuccess = del.onerror = del.onblocked = function () { resolve(); };
      });
    }).then(function () { return postToWorker({ type: "forget" }); }).then(function () {
      if (!navigator.serviceWorker) { return null; }
      return navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (registration) { return registration.unregister(); }));
      });
    }).catch(function () { /* best effort */ }).then(function () {
      root.dataset.wiped = "true";
      if (reason) {
        var alert = document.getElementById("offline-alert");
        alert.textContent = reason;
        alert.hidden = false;
      }
      render();
    });
  }

  /** Last upload (if the server answers within a few seconds), then forget; for logging out. */
  function leave(reason) {
    var lastTry = Promise.race([refresh(false), new Promise(function (resolve) { window.setTimeout(resolve, 3000); })]);
    return lastTry.then(function () {
      if (queuedCount > 0 && !window.confirm(d.tUnsentConfirm)) { return false; }
      return wipe(reason).then(function () { return true; });
    });
  }

  // --- the status bar and notices ----------------------------------------------------------------------

  function isOnline() { return navigator.onLine !== false && reachable; }

  function render() {
    var bar = document.getElementById("offline-status");
    if (!bar) { return; }
    var online = isOnline();
    bar.dataset.online = online ? "true" : "false";
    bar.dataset.queued = String(queuedCount);
    document.getElementById("net-state").textContent = online ? d.tOnline : d.tOffline;
    var last = document.getElementById("last-sync");
    if (pack && pack.syncedAt) {
      last.dateTime = pack.syncedAt;
      last.textContent = new Date(pack.syncedAt).toLocaleTimeString();
    } else {
      last.removeAttribute("datetime");
      last.textContent = d.tNeverSynced;
    }
    document.getElementById("queued-count").textContent = String(queuedCount);
    renderNotices();
  }

  function renderNotices() {
    var section = document.getElementById("offline-notices");
    var list = document.getElementById("notice-list");
    var conflicts = pack ? Object.keys(pack.conflicts).map(function (key) { return pack.conflicts[key]; }) : [];
    conflicts.sort(function (a, b) { return a.created_at < b.created_at ? 1 : -1; });
    list.textContent = "";
    conflicts.slice(0, 20).forEach(function (c) {
      var li = document.createElement("li");
      li.dataset.result = c.result;
      li.dataset.nonce = c.nonce;
      var zone = pack.event ? pack.event.timezone : undefined;
      var strong = document.createElement("strong");
      strong.textContent = (c.name || "?") + ": ";
      li.appendChild(strong);
      var text;
      if (c.local) {
        text = c.message + " \u2013 " + (c.door || "?") + " " + localTime(c.scanned_at, zone);
      } else if (c.result === "already_checked_in") {
        text = d.tDuplicate + " \u2013 " + (c.door || "?") + " " + localTime(c.scanned_at, zone);
        if (c.kept) { text += "; " + d.tKept + ": " + (c.kept.door || "?") + " " + localTime(c.kept.scanned_at, zone); }
      } else {
        text = d.tRefused + " (" + c.message + ") \u2013 " + (c.door || "?") + " " + localTime(c.scanned_at, zone);
      }
      li.appendChild(document.createTextNode(text));
      list.appendChild(li);
    });
    section.hidden = conflicts.length === 0;
  }

  function notify() { listeners.forEach(function (fn) { try { fn(); } catch (e) { /* a listener */ } }); }

  // --- start -------------------------------------------------------------------------------------------

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !d.swUrl) { return Promise.resolve(false); }
    return navigator.serviceWorker.register(d.swUrl, { scope: d.swScope || window.location.pathname })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        var worker = registration.active;
        if (!worker) { return false; }
        return new Promise(function (resolve) {
          var channel = new MessageChannel();
          channel.port1.onmessage = function (event) { resolve(Boolean(event.data && event.data.ok)); };
          worker.postMessage({ type: "cache-page", url: window.location.href }, [channel.port2]);
          window.setTimeout(function () { resolve(false); }, 10000);
        });
      }).catch(function () { return false; });
  }

  window.addEventListener("online", function () { reachable = true; render(); refresh(false); });
  window.addEventListener("offline", function () { render(); });

  // Logging out (from this or any page) is static/js/door-logout.js: it uploads, asks, then deletes the
  // database; this page stops syncing meanwhile and lets go of the database.
  if (window.eventsysDoorData) {
    window.eventsysDoorData.onLogout({
      pause: function () {
        paused = true;
        return (busy || Promise.resolve()).then(function () {
          var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }).catch(function () {}) : null;
          dbPromise = null;
          return closing;
        });
      },
      resume: function () { paused = false; return countQueue().catch(function () {}); }
    });
  }
  var forget = document.getElementById("forget-device");
  if (forget) {
    forget.addEventListener("click", function () { leave(d.tForgotten); });
  }

  window.eventsysOffline = {
    scanOffline: scanOffline,
    noteOnline: noteOnline,
    forgetEntry: forgetEntry,
    undoOffline: undoOffline,
    searchOffline: searchOffline,
    isOnline: isOnline,
    refresh: refresh,
    markUnreachable: function () { reachable = false; render(); },
    hasQueue: function () { return queuedCount > 0; },
    onChange: function (fn) { listeners.push(fn); },
    isWiped: function () { return wiped; }
  };

  var started = loadPack().then(function (stored) {
    pack = stored || null;
    return importKey();
  }).then(countQueue).catch(function () { /* no storage */ }).then(function () {
    render();
    root.dataset.offlineLoaded = "true";
  });
  Promise.all([
    started.then(function () { return isOnline() ? refresh(true) : null; }),
    registerWorker()
  ]).then(function (results) {
    root.dataset.offlineReady = pack && pack.syncedAt && results[1] ? "true" : "false";
  });
  window.setInterval(function () { refresh(false); }, SYNC_EVERY_MS);
})();
