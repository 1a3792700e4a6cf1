/* eventsys: show the viewer's local time beside times given in the event's zone.
 * Every <time datetime="..." data-local-time> gets a sibling "(your time: ...)" when the viewer's zone
 * differs from the one shown. No dependencies; runs after the page is parsed (script is deferred). */
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
  if (label && parts.length >= 2) {
    var range = label.querySelector("[data-local-time-range]");
    range.textContent = parts[0] + " – " + parts[1] + " (" + viewerZone.replace(/_/g, " ") + ")";
    label.hidden = false;
  }
})();
