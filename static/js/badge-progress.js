/* eventsys: live progress of bulk badge PDFs on the badges page.
 * Each row [data-batch-status-url] that has not finished is polled every two seconds; the page reloads
 * when one finishes, to show its download link. No dependencies; without it, reload by hand. */
(function () {
  "use strict";
  var rows = document.querySelectorAll("[data-batch-status-url][data-batch-finished='false']");
  Array.prototype.forEach.call(rows, function (row) {
    var bar = row.querySelector("progress");
    var text = row.querySelector("[data-batch-text]");
    function poll() {
      fetch(row.dataset.batchStatusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          bar.max = data.total || 1;
          bar.value = data.done;
          text.textContent = data.done + " / " + data.total;
          if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  });
})();
