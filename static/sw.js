/* eventsys: the door scanner's service worker, served at /scanner-sw.js (eventsys.checkin.views.service_worker,
 * which fills in the version and the asset list). The scanner page registers it with the page's own path as
 * its scope, so it controls the scanner pages and nothing else.
 *
 * - At install it caches every asset the page needs (CSS, JS, the vendored jsQR, icons, manifest).
 * - Page loads (navigations): network first, so a revoked door link or a logged-out session is noticed at
 *   once; the copy is kept, and served when the network is down. A 401/403/404 drops the kept copy.
 * - Static files: from the cache, else the network.
 * - Everything else (the JSON API) goes to the network untouched: the page itself queues scans offline.
 * - The page asks it to keep the page itself ({type: "cache-page", url}) and to forget everything
 *   ({type: "forget"}) when the door logs out or is revoked. */
"use strict";

var VERSION = "__VERSION__";
var ASSETS = __ASSETS__;
var PREFIX = "eventsys-scanner-";
var CACHE = PREFIX + VERSION;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(PREFIX) === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keepPage(request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
  } else if (response.status === 401 || response.status === 403 || response.status === 404) {
    caches.open(CACHE).then(function (cache) { return cache.delete(request, { ignoreSearch: false }); });
  }
  return response;
}

function cachedPage(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (found) {
      return found || cache.match(request, { ignoreSearch: true });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) { return keepPage(request, response); }).catch(function () {
        return cachedPage(request).then(function (found) { return found || Response.error(); });
      })
    );
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request, { ignoreSearch: true }).then(function (found) {
          return found || fetch(request).then(function (response) {
            if (response.ok) { cache.put(request, response.clone()); }
            return response;
          });
        });
      })
    );
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var port = event.ports && event.ports[0];
  var reply = function (answer) { if (port) { port.postMessage(answer); } };
  if (data.type === "cache-page" && typeof data.url === "string") {
    var url = new URL(data.url, self.location.origin);
    if (url.origin !== self.location.origin) { reply({ ok: false }); return; }
    event.waitUntil(
      caches.open(CACHE).then(function (cache) {
        return fetch(url.href, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
          if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
          return cache.put(url.href, response);
        });
      }).then(function () { reply({ ok: true }); }, function () { reply({ ok: false }); })
    );
  } else if (data.type === "forget") {
    event.waitUntil(
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) { return name.indexOf(PREFIX) === 0; })
          .map(function (name) { return caches.delete(name); }));
      }).then(function () { reply({ ok: true }); }, function () { reply({ ok: false }); })
    );
  }
});
