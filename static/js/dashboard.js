/* eventsys: the live door dashboard. Polls the dashboard's JSON every 3 seconds and redraws the figures and
 * tables (text only, never HTML from the server). Without JavaScript the page shows the figures as loaded. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var d = root.dataset;

  function figure(name, value) {
    var el = root.querySelector('[data-figure="' + name + '"]');
    if (el) { el.textContent = String(value); }
  }

  function table(name, rows, cells) {
    var body = root.querySelector('[data-table="' + name + '"]');
    if (!body) { return; }
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = value === null || value === undefined ? "—" : String(value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function localTime(iso) {
    try { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }); }
    catch (e) { return iso; }
  }

  function draw(data) {
    figure("checked_in", data.checked_in);
    figure("expected", data.expected);
    figure("scans_last_minute", data.scans_last_minute);
    figure("per_minute_text", data.per_minute.join(" · "));
    var spark = root.querySelector('[data-figure="per_minute"]');
    if (spark) {
      var top = Math.max.apply(null, data.per_minute.concat([1]));
      spark.textContent = "";
      data.per_minute.forEach(function (n) {
        var bar = document.createElement("span");
        bar.style.height = Math.round((n / top) * 100) + "%";
        spark.appendChild(bar);
      });
    }
    table("lists", data.lists, function (r) { return [r.name, r.checked_in, r.expected, r.inside]; });
    table("categories", data.categories, function (r) { return [r.label, r.checked_in, r.expected]; });
    table("doors", data.doors, function (r) { return [r.door, r.people, r.scans]; });
    table("last_scans", data.last_scans, function (r) {
      var name = r.name + (r.direction === "out" ? " (" + d.tOut + ")" : "") + (r.annulled ? " (" + d.tAnnulled + ")" : "");
      return [localTime(r.at), name, r.list, r.door];
    });
    table("offline_conflicts", data.offline_conflicts || [], function (r) {
      var what = r.result === "already_checked_in"
        ? d.tDuplicate + (r.kept ? ": " + d.tKept + " " + r.kept.door + " " + localTime(r.kept.scanned_at) : "")
        : r.message;
      return [localTime(r.scanned_at), r.name, r.list, r.door, what];
    });
    root.dataset.updatedAt = data.generated_at;
  }

  function poll() {
    fetch(d.url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { draw(data); } window.setTimeout(poll, 3000); })
      .catch(function () { window.setTimeout(poll, 6000); });
  }
  window.setTimeout(poll, 3000);
})();
