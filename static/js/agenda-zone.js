/* eventsys: the public agenda shows times in the viewer's own zone when they did not choose one.
 * Without JavaScript the page shows the event's zone and a ?zone= form; with it, a first visit without
 * ?zone= reloads once in the browser's zone (if the server knows that zone). "Show the event's time
 * zone" (?zone=event) is remembered in the URL, so the choice sticks. */
(function () {
  "use strict";
  var form = document.querySelector("[data-agenda-zone]");
  if (!form || form.dataset.chosen === "1") { return; }
  var params = new URLSearchParams(window.location.search);
  if (params.has("zone")) { return; }
  var viewer;
  try { viewer = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!viewer || viewer === form.dataset.eventZone) { return; }
  var known = Array.prototype.some.call(form.querySelectorAll("option"), function (o) { return o.value === viewer; });
  if (!known) { return; }
  params.set("zone", viewer);
  window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
})();
