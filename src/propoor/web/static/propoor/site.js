/* Small enhancements on top of htmx: keep pushed URLs tidy by leaving out empty
 * filter fields (``?status=identified`` rather than ``?q=&village=&status=…``). */
(function () {
  "use strict";
  document.addEventListener("htmx:config:request", function (event) {
    var request = event.detail && event.detail.ctx && event.detail.ctx.request;
    if (!request || !request.body || typeof request.body.keys !== "function") return;
    Array.from(new Set(request.body.keys())).forEach(function (key) {
      if (request.body.getAll(key).every(function (v) { return v === ""; })) {
        request.body.delete(key);
      }
    });
  });
})();
