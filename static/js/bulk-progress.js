/* eventsys: live progress of a bulk send on the invitations page.
 * The section [data-bulk-status-url] is polled every two seconds while the send runs; the progress bar and
 * counts are updated, and the page reloads once the send has finished, to show each invitation's new
 * state and the addresses that failed. No dependencies; the page works without it (reload by hand). */
(function () {
  "use strict";
  var section = document.querySelector("[data-bulk-status-url]");
  if (!section || section.dataset.bulkFinished === "true") { return; }
  var url = section.dataset.bulkStatusUrl;
  var bar = section.querySelector("progress");
  var text = section.querySelector("[data-bulk-text]");
  var lang = document.documentElement.lang || undefined;
  var fmt = new Intl.NumberFormat(lang);

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        var bulk = data && data.bulk_send;
        if (!bulk) { return; }
        bar.max = bulk.total;
        bar.value = bulk.done;
        bar.textContent = bulk.done + " / " + bulk.total;
        text.textContent = fmt.format(bulk.done) + " / " + fmt.format(bulk.total) +
          " (✓ " + fmt.format(bulk.sent) + ", ✗ " + fmt.format(bulk.failed) + ")";
        if (bulk.finished) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
