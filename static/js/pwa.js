/* The installable app on every page (docs/FIELDWORK.md): registers the service worker for a
 * signed-in worker, keeps the phone's offline store (IndexedDB "huoqiu-offline": the offline
 * pack and the visits waiting to be sent), deletes what is older than 24 hours or belongs to
 * another account, and clears everything when the worker logs out.
 * Loaded by templates/base.html with data-user (the signed-in username, empty when signed out). */
(function () {
  "use strict";

  var script = document.currentScript;
  var user = (script && script.getAttribute("data-user")) || "";
  var swUrl = (script && script.getAttribute("data-sw")) || "/sw.js";
  var DB_NAME = "huoqiu-offline";
  var DB_VERSION = 1;
  var KEEP_MS = 24 * 60 * 60 * 1000;

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function openDb() {
    if (!window.indexedDB) {
      return Promise.reject(new Error("此浏览器不支持离线存储"));
    }
    var request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = function () {
      var db = request.result;
      if (!db.objectStoreNames.contains("pack")) { db.createObjectStore("pack", { keyPath: "id" }); }
      if (!db.objectStoreNames.contains("queue")) { db.createObjectStore("queue", { keyPath: "key" }); }
    };
    return promised(request);
  }

  // One transaction on one store: `work(store)` returns a request or nothing.
  function withStore(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var request = work(tx.objectStore(name));
        var result;
        if (request) { request.onsuccess = function () { result = request.result; }; }
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var store = {
    getPack: function () {
      return withStore("pack", "readonly", function (s) { return s.get("pack"); });
    },
    savePack: function (pack) {
      var row = Object.assign({}, pack, { id: "pack", saved_at: Date.now(), user: user });
      return withStore("pack", "readwrite", function (s) { return s.put(row); }).then(function () { return row; });
    },
    deletePack: function () {
      return withStore("pack", "readwrite", function (s) { return s.delete("pack"); });
    },
    listQueue: function () {
      return withStore("queue", "readonly", function (s) { return s.getAll(); }).then(function (rows) {
        return (rows || []).sort(function (a, b) { return a.saved_at - b.saved_at; });
      });
    },
    putVisit: function (item) {
      return withStore("queue", "readwrite", function (s) { return s.put(item); });
    },
    deleteVisit: function (key) {
      return withStore("queue", "readwrite", function (s) { return s.delete(key); });
    }
  };

  // What is older than 24 hours, or was stored under another account, is deleted.
  function purge() {
    var cutoff = Date.now() - KEEP_MS;
    return store.getPack().then(function (pack) {
      if (pack && (pack.saved_at < cutoff || (user && pack.user !== user))) {
        return store.deletePack();
      }
    }).then(store.listQueue).then(function (rows) {
      return Promise.all(rows.filter(function (item) {
        return item.saved_at < cutoff || (user && item.user !== user);
      }).map(function (item) { return store.deleteVisit(item.key); }));
    });
  }

  function deleteDatabase() {
    return new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(); return; }
      var request = indexedDB.deleteDatabase(DB_NAME);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    });
  }

  // Logout: the offline store, the cached pages and the service worker go.
  function clearEverything() {
    var jobs = [deleteDatabase()];
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      }));
    }
    if (navigator.serviceWorker && navigator.serviceWorker.getRegistrations) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(jobs).catch(function () { return null; });
  }

  function hookLogout() {
    var forms = document.querySelectorAll("form.logout");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-cleared") === "1") { return; }
        event.preventDefault();
        var waiting = store.listQueue().then(function (rows) {
          return rows.filter(function (item) { return item.state !== "refused"; }).length;
        }).catch(function () { return 0; });
        waiting.then(function (count) {
          if (count && !window.confirm("手机上还有 " + count + " 条走访没有同步，退出后将被删除。确定退出吗？")) {
            return;
          }
          // Submit even if clearing hangs: the server's Clear-Site-Data header clears too.
          var done = false;
          function submit() {
            if (done) { return; }
            done = true;
            form.setAttribute("data-cleared", "1");
            form.submit();
          }
          setTimeout(submit, 2000);
          clearEverything().then(submit, submit);
        });
      });
    });
  }

  var ready = (user ? purge() : Promise.resolve()).catch(function () { return null; });

  window.HuoqiuOffline = {
    user: user,
    keepMs: KEEP_MS,
    store: store,
    ready: ready,
    purge: purge,
    clearEverything: clearEverything
  };

  if (user && navigator.serviceWorker) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(swUrl, { scope: "/" }).catch(function () { return null; });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", hookLogout);
  } else {
    hookLogout();
  }
})();
