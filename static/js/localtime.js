/* eventsys: show the viewer's local time beside times given in the event's zone.
 * Every <time datetime="..." data-local-time> gets its local rendering as a tooltip; the page's
 * [data-local-time-note] (carrying the event's zone in data-zone) shows the range in the viewer's zone
 * when that zone differs from the event's. No dependencies; runs after parsing (the script is deferred). */
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var viewerZone;
  try { viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var fmt = new Intl.DateTimeFormat(lang, {
    dateStyle: "medium", timeStyle: "short"
  });
  var nodes = document.querySelectorAll("time[data-local-time]");
  var label = document.querySelector("[data-local-time-note]");
  var parts = [];
  nodes.forEach(function (node) {
    var when = new Date(node.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var local = fmt.format(when);
    node.setAttribute("title", local);
    node.dataset.viewerTime = local;
    parts.push(local);
  });
  if (label && parts.length >= 2 && label.dataset.zone !== viewerZone) {
    var range = label.querySelector("[data-local-time-range]");
    range.textContent = parts[0] + " – " + parts[1] + " (" + viewerZone.replace(/_/g, " ") + ")";
    label.hidden = false;
  }
})();
