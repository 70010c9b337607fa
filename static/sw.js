/* Service worker of the installable app (docs/FIELDWORK.md), served at /sw.js by
 * staff/views/offline.py so that its scope is the whole site.
 *
 * It keeps only pages without personal data: the 今日走访（离线包） page (filled on the phone
 * from the offline pack in IndexedDB) and static files. Every other page goes to the network
 * and is never stored; offline, a navigation gets a short notice pointing to the offline page.
 * On activation it deletes offline data older than 24 hours (static/js/pwa.js does the same
 * on every page). */
"use strict";

var CACHE = "huoqiu-shell-v1";
var SHELL = "/visits/offline/";
var ASSETS = [
  "/static/css/app.css",
  "/static/css/offline.css",
  "/static/js/pwa.js",
  "/static/js/offline.js",
  "/static/manifest.webmanifest",
  "/static/img/favicon.svg",
  "/static/img/icon-192.png",
  "/static/img/icon-512.png"
];
var DB_NAME = "huoqiu-offline";
var KEEP_MS = 24 * 60 * 60 * 1000;

// The offline page is kept only as the signed-in worker's own page: not a redirect to login.
function keepShell(cache, response) {
  if (response && response.ok && response.type === "basic" && !response.redirected) {
    return cache.put(SHELL, response);
  }
  return Promise.resolve();
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return Promise.all([
        cache.addAll(ASSETS).catch(function () { return null; }),
        fetch(SHELL, { credentials: "same-origin" })
          .then(function (response) { return keepShell(cache, response); })
          .catch(function () { return null; })
      ]);
    }).then(function () { return self.skipWaiting(); })
  );
});

function purgeExpired() {
  return new Promise(function (resolve) {
    var request = indexedDB.open(DB_NAME);
    request.onerror = function () { resolve(); };
    request.onsuccess = function () {
      var db = request.result;
      var names = ["pack", "queue"].filter(function (name) { return db.objectStoreNames.contains(name); });
      if (!names.length) { db.close(); resolve(); return; }
      var cutoff = Date.now() - KEEP_MS;
      var tx = db.transaction(names, "readwrite");
      names.forEach(function (name) {
        var cursorRequest = tx.objectStore(name).openCursor();
        cursorRequest.onsuccess = function () {
          var cursor = cursorRequest.result;
          if (!cursor) { return; }
          if (!cursor.value.saved_at || cursor.value.saved_at < cutoff) { cursor.delete(); }
          cursor.continue();
        };
      });
      tx.oncomplete = tx.onerror = tx.onabort = function () { db.close(); resolve(); };
    };
  });
}

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(purgeExpired).then(function () { return self.clients.claim(); })
  );
});

function offlineNotice() {
  var html = "<!doctype html><html lang=\"zh-Hans\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
    "<title>当前离线</title><link rel=\"stylesheet\" href=\"/static/css/app.css\"></head>" +
    "<body><main class=\"site-main\"><h1>当前没有网络</h1>" +
    "<p>此页面需要联网才能打开。离线时请使用 <a href=\"" + SHELL + "\">今日走访（离线包）</a> 登记走访，联网后会自动同步。</p>" +
    "</main></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }

  if (url.pathname === SHELL && request.mode === "navigate") {
    // Network first, so a signed-in worker online always gets the current page.
    event.respondWith(
      fetch(request).then(function (response) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { return keepShell(cache, copy); });
        return response;
      }).catch(function () {
        return caches.match(SHELL).then(function (cached) { return cached || offlineNotice(); });
      })
    );
    return;
  }

  if (url.pathname.indexOf("/static/") === 0) {
    // Static files carry no personal data: the cached copy, refreshed in the background.
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request).then(function (cached) {
          var network = fetch(request).then(function (response) {
            if (response.ok && response.type === "basic") { cache.put(request, response.clone()); }
            return response;
          });
          if (cached) {
            network.catch(function () { return null; });
            return cached;
          }
          return network;
        });
      })
    );
    return;
  }

  if (request.mode === "navigate") {
    // Any other page: the network only, never stored; offline, a notice.
    event.respondWith(fetch(request).catch(offlineNotice));
  }
});
