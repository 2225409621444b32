/* ProPoor training: the quiz client.
 *
 * - An attempt gets its id on the phone (crypto.randomUUID()), so sending it twice
 *   counts once.
 * - Answers are kept on the phone (localStorage) as they are ticked: closing the page
 *   or losing the signal loses nothing.
 * - "Send" posts the attempt to the sync API and shows the graded result. Offline (or
 *   when the post fails) the attempt goes to the outbox of training.js, the learner is
 *   told it is saved on the phone, and the result is shown once it has been sent.
 *
 * Without JavaScript the same form is posted to the quiz page itself.
 */
(function () {
  "use strict";

  var P = window.ProPoorTraining;
  var form = document.getElementById("quiz-form");
  if (!P || !form) return;
  var config = P.config;
  var T = P.strings;
  var DRAFT = "propoor.training.quiz." + (config.user || "anonymous") + "." + config.course;
  var outcome = document.querySelector("[data-quiz-outcome]");
  var status = outcome.querySelector("[data-sync-status]");
  var slot = outcome.querySelector("[data-result-slot]");
  var after = outcome.querySelector("[data-after]");
  var warning = form.querySelector("[data-quiz-warning]");
  var keys = Array.prototype.map.call(
    form.querySelectorAll("fieldset[data-question]"),
    function (fieldset) { return fieldset.dataset.question; }
  );

  /* ---- the draft: this attempt's id and answers, kept as the learner goes ---- */

  function newDraft() {
    return {
      attempt_id: P.uuid4(),
      quiz_version: config.quizVersion,
      started_at: null,
      answers: {},
      pending: null // the attempt once sent: {type: "attempt", …}
    };
  }

  var draft = P.load(DRAFT, null);
  if (!draft || draft.quiz_version !== config.quizVersion) draft = newDraft();
  form.elements.attempt_id.value = draft.attempt_id;

  function save() {
    P.store(DRAFT, draft);
  }

  function answers() {
    var out = {};
    keys.forEach(function (key) {
      var picked = Array.prototype.map.call(
        form.querySelectorAll('input[name="' + key + '"]:checked'),
        function (input) { return input.value; }
      );
      if (picked.length) out[key] = picked;
    });
    return out;
  }

  function restore(saved) {
    keys.forEach(function (key) {
      var picked = saved[key] || [];
      form.querySelectorAll('input[name="' + key + '"]').forEach(function (input) {
        input.checked = picked.indexOf(input.value) !== -1;
      });
    });
  }

  restore(draft.pending ? draft.pending.answers : draft.answers);

  form.addEventListener("change", function () {
    if (!draft.started_at) draft.started_at = P.now();
    draft.answers = answers();
    save();
    warning.hidden = true;
    warned = false;
  });

  /* ---- what the learner sees ---- */

  function lock() {
    form.querySelectorAll("input, button").forEach(function (node) {
      node.disabled = true;
    });
    form.querySelector("[data-submit]").hidden = true;
    outcome.hidden = false;
  }

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function summary(extra) {
    var verdict = document.createElement("div");
    verdict.className = "verdict " + (extra.passed ? "pass" : "fail");
    var big = document.createElement("span");
    big.className = "big";
    big.textContent = extra.passed ? "✓ " + T.passed : T.failed;
    var score = document.createElement("span");
    score.className = "score";
    score.textContent = P.format(T.score, {
      score: extra.score,
      max: extra.max_score,
      percent: Number(extra.percent).toFixed(1)
    });
    verdict.append(big, score);
    return verdict;
  }

  // The result: a summary from the sync answer at once, then the page's full result
  // (each question with the right answer and its explanation) from the server.
  function showResult(attemptId, extra) {
    slot.replaceChildren(summary(extra));
    fetch(config.quizUrl + "?attempt=" + encodeURIComponent(attemptId), {
      credentials: "same-origin"
    })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var result = page.getElementById("quiz-result");
        if (result) slot.replaceChildren(document.importNode(result, true));
      })
      .catch(function () { /* the summary stays */ });
  }

  function finished() {
    form.hidden = true;
    var intro = document.querySelector("[data-quiz-intro]");
    if (intro) intro.hidden = true;
    after.hidden = false;
    localStorage.removeItem(DRAFT);
  }

  function received(result) {
    if (result.state === "applied" || result.state === "duplicate") {
      setStatus("synced", "✓ " + T.synced);
      showResult(draft.pending.attempt_id, result.extra);
    } else if (result.state === "stale") {
      setStatus("stale", T.stale);
    } else {
      setStatus("refused", T.refused + " " + result.message);
    }
    finished();
  }

  // Kept on the phone: the outbox sends it later (offline: true).
  function keep() {
    var inOutbox = P.outbox().some(function (entry) {
      return entry.item.attempt_id === draft.pending.attempt_id;
    });
    if (!inOutbox) {
      draft.pending.offline = true;
      save();
      P.enqueue(draft.pending);
    }
    setStatus("saved", T.saved);
  }

  document.addEventListener("training:synced", function (event) {
    var item = event.detail.item;
    if (draft.pending && item.type === "attempt" &&
        item.attempt_id === draft.pending.attempt_id) {
      received(event.detail.result);
    }
  });

  /* ---- sending ---- */

  var warned = false;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var given = answers();
    var missing = keys.filter(function (key) { return !given[key]; }).length;
    if (missing && !warned) {
      warned = true;
      warning.textContent = P.format(T.unanswered, { n: missing });
      warning.hidden = false;
      return;
    }
    // From here on the answers are final: the same id always carries the same answers.
    draft.pending = {
      type: "attempt",
      course: config.course,
      attempt_id: draft.attempt_id,
      quiz_version: draft.quiz_version,
      answers: given,
      started_at: draft.started_at,
      finished_at: P.now(),
      offline: false
    };
    save();
    lock();
    if (!navigator.onLine) return keep();
    setStatus("sending", T.sending);
    P.postJSON(config.syncUrl, { items: [draft.pending] })
      .then(function (response) {
        // No signal on the way, a server error or the login expired: keep it.
        if (response.status >= 500 || response.status === 401) return keep();
        return response.json().then(function (data) {
          if (!response.ok) {
            setStatus("refused", T.refused + " " + data.message);
            return finished();
          }
          received(data.results[0]);
        });
      })
      .catch(keep);
  });

  // Sent before but not answered yet (the page was closed, or still offline).
  if (draft.pending) {
    lock();
    keep();
  }
})();
