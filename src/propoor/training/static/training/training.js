/* ProPoor training: offline support for learners.
 *
 * Progressive enhancement: every page works without this file. With it,
 * - the service worker (/training/sw.js) is registered, so pages a learner saved open
 *   without a signal;
 * - "Download for offline use" asks the service worker to save every URL of a course;
 * - "Mark as read" is sent in the background, or kept on the phone when offline;
 * - what is kept on the phone (the outbox) is sent to the sync API when the phone is
 *   back online, when a page loads, and every 10 seconds while something waits.
 *
 * quiz.js uses window.ProPoorTraining (below) for the outbox and the sync.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("training-config");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);
  var T = config.strings;
  // One outbox per login: a phone shared by two people keeps their answers apart.
  var OUTBOX = "propoor.training.outbox." + (config.user || "anonymous");
  var SAVED = "propoor.training.saved"; // courses saved for offline use
  var RETRY_MS = 10000;

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name];
    }).replace("%%", "%");
  }

  function now() {
    return new Date().toISOString();
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Older browsers: the same UUID v4 from crypto.getRandomValues.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  function load(key, fallback) {
    try {
      var value = JSON.parse(localStorage.getItem(key));
      return value === null ? fallback : value;
    } catch (error) {
      return fallback;
    }
  }

  function store(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken()
      },
      body: JSON.stringify(body)
    });
  }

  /* ---- the outbox ------------------------------------------------------------ */

  function outbox() {
    return load(OUTBOX, []);
  }

  // An entry is {id, item}: item is what the sync API takes.
  function enqueue(item) {
    var entries = outbox();
    entries.push({ id: uuid4(), item: item });
    store(OUTBOX, entries);
    showWaiting();
    schedule();
  }

  function showWaiting() {
    var count = outbox().length;
    document.querySelectorAll("[data-outbox]").forEach(function (node) {
      node.hidden = count === 0;
      node.textContent = count ? format(T.waiting, { n: count }) : "";
    });
  }

  var sending = null;

  // Send everything waiting in one batch. Resolves to the results, or null when the
  // batch could not be sent (kept for the next try). Each result is also announced
  // with a "training:synced" event, {item, result}.
  function sync() {
    if (sending) return sending;
    var entries = outbox();
    if (!entries.length || !config.user) return Promise.resolve(null);
    if (!navigator.onLine) {
      schedule(); // try again in a while (the "online" event may come first)
      return Promise.resolve(null);
    }
    sending = postJSON(config.syncUrl, {
      items: entries.map(function (e) { return e.item; })
    })
      .then(function (response) {
        // Logged out (401/403) or a server error: keep everything for later.
        if (!response.ok) return null;
        return response.json().then(function (data) {
          var sent = {};
          entries.forEach(function (e) { sent[e.id] = true; });
          // Items queued while this batch was on its way stay in the outbox.
          store(OUTBOX, outbox().filter(function (e) { return !sent[e.id]; }));
          data.results.forEach(function (result) {
            document.dispatchEvent(new CustomEvent("training:synced", {
              detail: { item: entries[result.index].item, result: result }
            }));
          });
          return data.results;
        });
      })
      .catch(function () { return null; })
      .then(function (results) {
        sending = null;
        showWaiting();
        schedule();
        return results;
      });
    return sending;
  }

  var timer = null;

  function schedule() {
    if (timer || !outbox().length) return;
    timer = setTimeout(function () {
      timer = null;
      sync();
    }, RETRY_MS);
  }

  window.addEventListener("online", sync);

  /* ---- the service worker ------------------------------------------------------ */

  var offlineCapable = "serviceWorker" in navigator && "caches" in window;
  if (offlineCapable) {
    navigator.serviceWorker.register(config.swUrl, { scope: config.scope })
      .catch(function () { /* the pages still work online */ });
  }

  function savedCourses() {
    return load(SAVED, {});
  }

  function askWorker(message) {
    return navigator.serviceWorker.ready.then(function (registration) {
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) { resolve(event.data); };
        registration.active.postMessage(message, [channel.port2]);
      });
    });
  }

  // The course page: "Download for offline use", and whether it is saved already.
  function setupDownload() {
    var box = document.querySelector("[data-offline-box]");
    if (!box || !config.course) return;
    var button = box.querySelector("[data-download]");
    var state = box.querySelector("[data-offline-state]");
    if (!offlineCapable) {
      state.textContent = T.no_offline;
      return;
    }
    button.hidden = false;
    function saved(on) {
      state.textContent = on ? "✓ " + T.downloaded : "";
      state.dataset.state = on ? "saved" : "";
    }
    caches.match(config.courseUrl, { ignoreVary: true }).then(function (hit) {
      saved(Boolean(hit) && Boolean(savedCourses()[config.course]));
    });
    button.addEventListener("click", function () {
      button.disabled = true;
      state.dataset.state = "saving";
      state.textContent = T.downloading;
      fetch(config.api, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (course) {
          return askWorker({ type: "download", urls: course.offline_urls });
        })
        .then(function (answer) {
          if (answer.failed.length) throw new Error(answer.failed.join(" "));
          var all = savedCourses();
          all[config.course] = { title: config.title, url: config.courseUrl, at: now() };
          store(SAVED, all);
          saved(true);
        })
        .catch(function () {
          state.dataset.state = "failed";
          state.textContent = T.download_failed;
        })
        .then(function () { button.disabled = false; });
    });
  }

  // The offline page: links to the courses saved on this phone.
  function listSaved() {
    var list = document.querySelector("[data-saved-courses]");
    if (!list) return;
    var all = savedCourses();
    Object.keys(all).forEach(function (code) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = all[code].url;
      a.textContent = all[code].title;
      li.appendChild(a);
      list.appendChild(li);
    });
    var empty = document.querySelector("[data-no-saved]");
    if (empty) empty.hidden = list.children.length > 0;
  }

  /* ---- "Mark as read" ------------------------------------------------------------ */

  function setupMarkRead() {
    var form = document.querySelector("form[data-mark-read]");
    if (!form) return;
    var state = document.querySelector("[data-read-state]");
    function done(text) {
      form.hidden = true;
      state.textContent = "✓ " + text;
      var next = document.querySelector(".lesson-nav .nav-next");
      if (next) next.classList.add("go");
    }
    function keep() {
      enqueue({ type: "lesson", course: config.course, lesson: config.lesson, completed_at: now() });
      state.dataset.state = "saved";
      done(T.read_offline);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!navigator.onLine) return keep();
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: new FormData(form)
      })
        .then(function (response) {
          if (response.ok) {
            state.dataset.state = "synced";
            return done(T.read);
          }
          if (response.status >= 500 || response.status === 401) return keep();
          return response.json().then(function (error) {
            state.textContent = error.message;
          });
        })
        .catch(keep);
    });
  }

  window.ProPoorTraining = {
    config: config,
    strings: T,
    format: format,
    uuid4: uuid4,
    now: now,
    load: load,
    store: store,
    postJSON: postJSON,
    enqueue: enqueue,
    outbox: outbox,
    sync: sync
  };

  setupDownload();
  listSaved();
  setupMarkRead();
  showWaiting();
  sync();
})();
