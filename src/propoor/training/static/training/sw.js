/* ProPoor training: the service worker (scope /training/).
 *
 * Served by the `service_worker` view, which puts CONFIG (the URLs below) and VERSION
 * (a hash of this file and CONFIG) in front of it:
 *   CONFIG.shell      the app shell: CSS, JS and the offline page, cached on install
 *   CONFIG.offline    the page shown for a page that is not saved on the phone
 *   CONFIG.scope      "/training/"
 *   CONFIG.sync       the sync API: never cached, never answered from a cache
 *   CONFIG.courseApi  "/api/v1/training/courses/" (a course's JSON)
 *   CONFIG.static     "/static/"
 *
 * Two caches: the shell (replaced whenever VERSION changes) and the courses a learner
 * downloaded (kept across versions). Pages and the course JSON are fetched network
 * first, so a learner with a signal always sees the latest; without a signal the saved
 * copy is shown, and for a page never saved, the offline page. A successful fetch
 * refreshes a copy that was saved, and saves nothing new: only "Download for offline
 * use" decides what is kept. POSTs (sync, forms) pass straight to the network.
 */
/* global CONFIG, VERSION */
"use strict";

var SHELL_CACHE = "propoor-training-shell-" + VERSION;
var COURSE_CACHE = "propoor-training-courses";
// Pages vary by cookie and language; a saved copy is the learner's own either way.
var MATCH = { ignoreVary: true };

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then(function (cache) { return cache.addAll(CONFIG.shell); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  // Drop the shells of older versions; take over the open training pages at once.
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("propoor-training-shell-") === 0 && name !== SHELL_CACHE;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

/* "Download for offline use": the page sends {type: "download", urls: [...]} with a
 * MessagePort, and is answered {saved: n, failed: [urls]}. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "download") return;
  var port = event.ports[0];
  event.waitUntil(
    download(data.urls || []).then(function (answer) {
      if (port) port.postMessage(answer);
    })
  );
});

function download(urls) {
  return caches.open(COURSE_CACHE).then(function (cache) {
    var failed = [];
    return Promise.all(urls.map(function (url) {
      return fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!cacheable(response)) throw new Error(String(response.status));
          return cache.put(url, response);
        })
        .catch(function () { failed.push(url); });
    })).then(function () {
      return { saved: urls.length - failed.length, failed: failed };
    });
  });
}

// Only whole, successful answers of our own site: not a redirect to the login page.
function cacheable(response) {
  return response.status === 200 && !response.redirected && response.type === "basic";
}

function handled(request) {
  if (request.method !== "GET") return false; // never a POST
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  var path = url.pathname;
  if (path.indexOf(CONFIG.sync) === 0) return false;
  // PDFs and videos are downloads and streams: straight to the network.
  if (/\.pdf$/.test(path) || /\/video$/.test(path)) return false;
  return request.mode === "navigate" ||
    path.indexOf(CONFIG.scope) === 0 ||
    path.indexOf(CONFIG.courseApi) === 0 ||
    path.indexOf(CONFIG.static) === 0;
}

self.addEventListener("fetch", function (event) {
  if (handled(event.request)) event.respondWith(networkFirst(event.request));
});

function networkFirst(request) {
  return fetch(request)
    .then(function (response) {
      if (cacheable(response)) refresh(request, response.clone());
      return response;
    })
    .catch(function () {
      return caches.match(request, MATCH).then(function (saved) {
        if (saved) return saved;
        if (request.mode === "navigate") return caches.match(CONFIG.offline, MATCH);
        return Response.error();
      });
    });
}

// Keep a saved copy up to date; a URL that was never saved is not saved here.
function refresh(request, response) {
  return Promise.all([SHELL_CACHE, COURSE_CACHE].map(function (name) {
    return caches.open(name).then(function (cache) {
      return cache.match(request, MATCH).then(function (old) {
        if (old) return cache.put(request, response.clone());
      });
    });
  }));
}
