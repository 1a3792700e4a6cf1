/* eventsys: logging out from any page clears the door data this browser keeps, without losing scans.
 *
 * The offline scanner (static/js/offline-scanner.js) keeps a door pack (attendee names, organizations,
 * needs) and the scans it queued while offline in the IndexedDB database "eventsys-door", and its service
 * worker keeps the scanner page in caches named "eventsys-scanner-*". A Clear-Site-Data header on the
 * logout answer would also destroy the queued scans of a scanner tab closed while offline, so every page
 * (templates/base.html) loads this script, which takes over the logout form (form[data-door-logout]):
 *
 * 1. If this browser holds door data, the queued scans are uploaded first (POST .../checkins/batch with the
 *    session and the page's CSRF token), when the network is there.
 * 2. If some are still not uploaded (offline, refused, no answer), the user is asked "N scans are not
 *    uploaded yet ... Log out anyway?"; cancelling keeps everything and stays logged in.
 * 3. Then the door data is deleted (the database, the scanner caches, the service worker) and the form is
 *    submitted. A browser without door data logs out at once.
 *
 * An open scanner tab closes its database when asked (IndexedDB "versionchange"); the scanner page on which
 * the logout happens is paused through window.eventsysDoorData.onLogout. */
(function () {
  "use strict";
  var DB_NAME = "eventsys-door";
  var CACHE_PREFIX = "eventsys-scanner-";
  var CHUNK = 100;
  var UPLOAD_TIMEOUT_MS = 8000;
  var hooks = [];

  /** The door database if it exists (never creates it), else null. */
  function openExisting() {
    if (!window.indexedDB) { return Promise.resolve(null); }
    return new Promise(function (resolve) {
      var created = false;
      var request;
      try { request = window.indexedDB.open(DB_NAME); } catch (e) { resolve(null); return; }
      request.onupgradeneeded = function (event) {
        if (event.oldVersion === 0) { created = true; request.transaction.abort(); }
      };
      request.onsuccess = function () { resolve(created ? null : request.result); };
      request.onerror = function (event) { if (event.preventDefault) { event.preventDefault(); } resolve(null); };
      request.onblocked = function () { resolve(null); };
    });
  }

  function readQueue(db) {
    if (!db || !db.objectStoreNames.contains("queue")) { return Promise.resolve([]); }
    return new Promise(function (resolve, reject) {
      var read = db.transaction("queue").objectStore("queue").getAll();
      read.onsuccess = function () { resolve(read.result || []); };
      read.onerror = function () { reject(read.error); };
    });
  }

  function deleteFromQueue(db, nonces) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction("queue", "readwrite");
      nonces.forEach(function (nonce) { t.objectStore("queue").delete(nonce); });
      t.oncomplete = function () { resolve(); };
      t.onerror = function () { reject(t.error); };
    });
  }

  /** What the batch endpoint takes for one queued item (docs/checkin-api.md). */
  function toScan(item) {
    var scan = { nonce: item.nonce, scanned_at: item.scanned_at, list: item.list, door: item.door || "" };
    scan.kind = item.kind || "checkin";
    if (item.code) { scan.code = item.code; }
    if (item.badgeId && !item.code) { scan.badge = Number(item.badgeId); }
    if (item.annuls) { scan.annuls = item.annuls; }
    return scan;
  }

  function slugOf(item) {
    if (item.slug) { return item.slug; }
    var key = String(item.pack || "");
    var cut = key.lastIndexOf(":");
    return cut > 0 ? key.slice(0, cut) : key;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    var controller = window.AbortController ? new window.AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, UPLOAD_TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      window.clearTimeout(timer);
      return data;
    }, function (error) {
      window.clearTimeout(timer);
      throw error;
    });
  }

  /** Upload what can be uploaded; resolves with the number of scans still not on the server. */
  function uploadAll(db, urlTemplate) {
    return readQueue(db).then(function (items) {
      if (!items.length || navigator.onLine === false || !urlTemplate) { return items.length; }
      var bySlug = {};
      items.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; });
      items.forEach(function (item) { (bySlug[slugOf(item)] = bySlug[slugOf(item)] || []).push(item); });
      var left = 0;
      var chain = Promise.resolve();
      Object.keys(bySlug).forEach(function (slug) {
        var url = urlTemplate.replace("__slug__", encodeURIComponent(slug));
        var group = bySlug[slug];
        for (var start = 0; start < group.length; start += CHUNK) {
          (function (chunk) {
            chain = chain.then(function () {
              return post(url, { scans: chunk.map(toScan) }).then(function (data) {
                var done = (data && data.results ? data.results : []).map(function (r) { return r.nonce; })
                  .filter(function (nonce) { return typeof nonce === "string"; });
                left += chunk.length - done.length;
                return deleteFromQueue(db, done);
              }).catch(function () { left += chunk.length; });
            });
          })(group.slice(start, start + CHUNK));
        }
      });
      return chain.then(function () { return left; });
    });
  }

  /** Delete the door database, the scanner caches and the service worker. Best effort, never rejects. */
  function clearAll() {
    var deleting = new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(); return; }
      var del = window.indexedDB.deleteDatabase(DB_NAME);
      del.onsuccess = del.onerror = function () { resolve(); };
      // Another tab that does not let go: the deletion completes when it closes; do not wait for it.
      del.onblocked = function () { window.setTimeout(resolve, 3000); };
    });
    return deleting.then(function () {
      if (!window.caches) { return null; }
      return window.caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) { return name.indexOf(CACHE_PREFIX) === 0; })
          .map(function (name) { return window.caches.delete(name); }));
      });
    }).then(function () {
      if (!navigator.serviceWorker) { return null; }
      return navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (registration) { return registration.unregister(); }));
      });
    }).catch(function () { /* best effort */ });
  }

  function confirmText(form, count) {
    var rule = "other";
    try { rule = new Intl.PluralRules(document.documentElement.lang || undefined).select(count); } catch (e) { /* old browser */ }
    var template = (rule === "one" ? form.dataset.tUnsentOne : form.dataset.tUnsentOther) || form.dataset.tUnsentOther || "";
    return template.replace("{count}", String(count));
  }

  function runHooks(name) {
    return Promise.all(hooks.map(function (hook) {
      try { return Promise.resolve(hook[name] && hook[name]()); } catch (e) { return null; }
    })).catch(function () { return null; });
  }

  /** Upload, ask if needed, clear; resolves true when the logout may go ahead. */
  function prepareLogout(form) {
    var db = null;
    return runHooks("pause").then(openExisting).then(function (found) {
      db = found;
      if (!db) { return true; }
      return uploadAll(db, form.dataset.batchUrl).catch(function () {
        return readQueue(db).then(function (items) { return items.length; }, function () { return 1; });
      }).then(function (left) {
        if (left > 0 && !window.confirm(confirmText(form, left))) { return false; }
        return true;
      });
    }).then(function (go) {
      if (db) { db.close(); }
      if (!go) { return runHooks("resume").then(function () { return false; }); }
      return (db ? clearAll() : Promise.resolve()).then(function () { return true; });
    });
  }

  function guard(form) {
    var running = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (running) { return; }
      running = true;
      form.dataset.logoutState = "running";
      prepareLogout(form).catch(function () { return true; }).then(function (go) {
        running = false;
        form.dataset.logoutState = go ? "leaving" : "kept";
        if (go) { HTMLFormElement.prototype.submit.call(form); }
      });
    });
  }

  window.eventsysDoorData = {
    DB_NAME: DB_NAME,
    toScan: toScan,
    clearAll: clearAll,
    /** ``{pause: fn, resume: fn}``: a scanner page stops syncing while a logout runs (and resumes if cancelled). */
    onLogout: function (hook) { hooks.push(hook); }
  };

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-door-logout]"), guard);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
