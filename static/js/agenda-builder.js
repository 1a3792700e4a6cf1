/* eventsys: the agenda builder's drag-and-drop grid (rooms as columns, time as rows), plain JavaScript.
 *
 * Reads its data from <script type="application/json" id="agenda-builder-data">, shows the grid (hidden
 * without JavaScript: the page's list and edit forms do the same job by keyboard) and saves every move
 * through the JSON endpoint with the X-CSRFToken header. Drag a block to move it (5-minute snap), drag its
 * bottom edge to resize it, drag it to the side list to unschedule it; the grid scrolls while dragging.
 * A failed save shows the server's message and puts the session back. The warnings panel is redrawn from
 * each answer. Styles are set through element.style only (the CSP forbids inline style attributes).
 */
(function () {
  "use strict";
  var root = document.querySelector("[data-agenda-builder]");
  var source = document.getElementById("agenda-builder-data");
  if (!root || !source) { return; }
  var data = JSON.parse(source.textContent);
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var PX = 2;            // pixels per minute
  var SNAP = data.snap_minutes || 5;
  var COL = 180;         // column width
  var TIMECOL = 56;      // width of the time labels
  var HEAD = 32;         // height of the room header row
  var MIN = 60000;
  var zone = data.event.timezone;
  var labels = data.labels;

  var sessions = {};
  data.sessions.forEach(function (s) { sessions[s.id] = s; });
  var warnings = data.warnings;
  var shownRooms = {};
  data.rooms.forEach(function (r) { shownRooms[r.id] = true; });

  var tools = root.querySelector("[data-builder-tools]");
  var statusEl = root.querySelector("[data-builder-status]");
  var listEl = root.querySelector("[data-unscheduled-list]");
  var aside = root.querySelector("[data-unscheduled]");
  var scroller = root.querySelector("[data-grid-scroll]");
  var grid = root.querySelector("[data-grid]");
  var panel = document.querySelector("[data-warnings-list]");

  // --- time zone arithmetic: wall-clock time in the event's zone <-> UTC instants ---------------------------
  var partsFmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
  });
  function wall(ms) {
    var p = {};
    partsFmt.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return { y: +p.year, m: +p.month, d: +p.day, h: +p.hour % 24, min: +p.minute };
  }
  function dayKey(ms) { var w = wall(ms); return w.y + "-" + pad(w.m) + "-" + pad(w.d); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function offsetAt(ms) {
    var w = wall(ms);
    return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min) - Math.floor(ms / MIN) * MIN;
  }
  function fromWall(y, m, d, h, min) {  // the UTC instant of a wall-clock time in the event's zone
    var guess = Date.UTC(y, m - 1, d, h, min);
    var ms = guess - offsetAt(guess);
    return guess - offsetAt(ms);
  }
  function hhmm(ms) { var w = wall(ms); return pad(w.h) + ":" + pad(w.min); }
  function ms(iso) { return iso ? new Date(iso).getTime() : null; }

  // --- days and rooms ------------------------------------------------------------------------------------------
  function days() {
    var keys = {};
    var t = ms(data.event.starts_at), end = ms(data.event.ends_at);
    for (; t <= end; t += 24 * 60 * MIN) { keys[dayKey(t)] = true; }
    keys[dayKey(end)] = true;
    Object.keys(sessions).forEach(function (id) {
      if (sessions[id].starts_at) { keys[dayKey(ms(sessions[id].starts_at))] = true; }
    });
    return Object.keys(keys).sort();
  }
  var currentDay = dayKey(ms(data.event.starts_at));

  function buildTools() {
    tools.textContent = "";
    var dayLabel = document.createElement("label");
    dayLabel.textContent = labels.day + " ";
    var select = document.createElement("select");
    select.setAttribute("data-day-select", "");
    days().forEach(function (key) {
      var option = document.createElement("option");
      option.value = key; option.textContent = key;
      if (key === currentDay) { option.selected = true; }
      select.appendChild(option);
    });
    select.addEventListener("change", function () { currentDay = select.value; render(); });
    dayLabel.appendChild(select);
    tools.appendChild(dayLabel);
    var fieldset = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.textContent = labels.rooms_shown;
    fieldset.appendChild(legend);
    data.rooms.forEach(function (room) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox"; box.checked = shownRooms[room.id]; box.value = room.id;
      box.addEventListener("change", function () { shownRooms[room.id] = box.checked; render(); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + room.name));
      fieldset.appendChild(label);
    });
    tools.appendChild(fieldset);
  }

  // --- drawing -------------------------------------------------------------------------------------------------
  var layout = null;  // {dayStart, minutes, columns: [{id, name}]}

  function columnsFor(daySessions) {
    var cols = data.rooms.filter(function (r) { return shownRooms[r.id]; }).map(function (r) { return { id: r.id, name: r.name }; });
    var roomless = daySessions.some(function (s) { return !s.plenary && s.room_id === null; });
    if (roomless) { cols.push({ id: null, name: "—" }); }
    return cols;
  }

  function warnedIds() {
    var ids = {};
    warnings.forEach(function (w) { w.session_ids.forEach(function (id) { (ids[id] = ids[id] || []).push(w.message); }); });
    return ids;
  }

  function render() {
    var all = Object.keys(sessions).map(function (id) { return sessions[id]; });
    var daySessions = all.filter(function (s) { return s.starts_at && dayKey(ms(s.starts_at)) === currentDay; });
    var parts = currentDay.split("-").map(Number);
    var firstHour = 8, lastHour = 19;
    daySessions.forEach(function (s) {
      firstHour = Math.min(firstHour, wall(ms(s.starts_at)).h);
      var e = wall(ms(s.ends_at));
      lastHour = Math.max(lastHour, dayKey(ms(s.ends_at)) === currentDay ? e.h + (e.min ? 1 : 0) : 24);
    });
    var eventStart = ms(data.event.starts_at);
    if (dayKey(eventStart) === currentDay) { firstHour = Math.min(firstHour, wall(eventStart).h); }
    var dayStart = fromWall(parts[0], parts[1], parts[2], firstHour, 0);
    var minutes = (Math.min(lastHour, 24) - firstHour) * 60;
    var columns = columnsFor(daySessions);
    layout = { dayStart: dayStart, minutes: minutes, columns: columns };

    grid.textContent = "";
    grid.style.width = (TIMECOL + COL * Math.max(columns.length, 1)) + "px";
    grid.style.height = (HEAD + minutes * PX) + "px";
    var head = document.createElement("div");
    head.className = "agenda-grid-head";
    var corner = document.createElement("div");
    corner.style.width = TIMECOL + "px";
    head.appendChild(corner);
    columns.forEach(function (col) {
      var cell = document.createElement("div");
      cell.style.width = COL + "px";
      cell.textContent = col.name;
      cell.setAttribute("data-room-head", col.id === null ? "" : col.id);
      head.appendChild(cell);
    });
    head.style.height = HEAD + "px";
    grid.appendChild(head);
    for (var m = 0; m < minutes; m += 30) {
      var line = document.createElement("div");
      line.className = "agenda-grid-time";
      line.style.top = (HEAD + m * PX) + "px";
      line.style.width = grid.style.width;
      line.style.height = (30 * PX) + "px";
      line.textContent = hhmm(dayStart + m * MIN);
      grid.appendChild(line);
    }
    columns.forEach(function (col, i) {
      var c = document.createElement("div");
      c.className = "agenda-grid-col";
      c.style.left = (TIMECOL + i * COL) + "px";
      c.style.top = HEAD + "px";
      c.style.width = COL + "px";
      c.style.height = (minutes * PX) + "px";
      grid.appendChild(c);
    });
    var warned = warnedIds();
    daySessions.forEach(function (s) {
      var index = s.plenary ? 0 : columns.findIndex(function (c) { return c.id === s.room_id; });
      if (index < 0) { return; }  // its room is hidden
      var block = makeBlock(s, warned[s.id]);
      placeBlock(block, index, s.plenary ? columns.length : 1, (ms(s.starts_at) - dayStart) / MIN, (ms(s.ends_at) - ms(s.starts_at)) / MIN);
      grid.appendChild(block);
    });
    listEl.textContent = "";
    all.filter(function (s) { return !s.starts_at; }).forEach(function (s) { listEl.appendChild(makeBlock(s, warned[s.id])); });
    renderWarnings();
  }

  function placeBlock(block, col, span, top, length) {
    block.style.left = (TIMECOL + col * COL + 2) + "px";
    block.style.width = (COL * Math.max(span, 1) - 4) + "px";
    block.style.top = (HEAD + top * PX) + "px";
    block.style.height = Math.max(length * PX, 10) + "px";
  }

  function makeBlock(s, messages) {
    var block = document.createElement("div");
    block.className = "agenda-block" + (s.plenary ? " agenda-plenary-block" : "") + (messages ? " agenda-has-warning" : "");
    block.setAttribute("data-session-id", s.id);
    var title = document.createElement("a");
    title.href = s.edit_url;
    title.textContent = s.title;
    title.draggable = false;
    var strong = document.createElement("strong");
    strong.appendChild(title);
    block.appendChild(strong);
    var meta = document.createElement("span");
    meta.textContent = (s.starts_at ? hhmm(ms(s.starts_at)) + "–" + hhmm(ms(s.ends_at)) + " · " : "") + s.format_label;
    block.appendChild(meta);
    if (messages) { block.title = messages.join("\n"); }
    if (s.starts_at) {
      var handle = document.createElement("div");
      handle.className = "agenda-resize";
      handle.setAttribute("data-resize", "");
      block.appendChild(handle);
    }
    block.addEventListener("pointerdown", function (e) { startDrag(e, s, block); });
    title.addEventListener("click", function (e) { if (block.dataset.dragged === "1") { e.preventDefault(); } });
    return block;
  }

  function renderWarnings() {
    if (!panel) { return; }
    panel.textContent = "";
    if (!warnings.length) {
      var p = document.createElement("p");
      p.textContent = labels.no_warnings;
      panel.appendChild(p);
      return;
    }
    var ul = document.createElement("ul");
    warnings.forEach(function (w) {
      var li = document.createElement("li");
      li.className = "agenda-warning agenda-warning-" + w.code;
      li.textContent = w.message;
      ul.appendChild(li);
    });
    panel.appendChild(ul);
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("agenda-error", !!isError);
  }

  // --- dragging ------------------------------------------------------------------------------------------------
  var drag = null;

  function snap(minutes) { return Math.round(minutes / SNAP) * SNAP; }

  function startDrag(e, s, block) {
    if (e.button !== 0) { return; }
    e.preventDefault();
    var resizing = e.target.hasAttribute("data-resize");
    var rect = block.getBoundingClientRect();
    var length = s.starts_at ? (ms(s.ends_at) - ms(s.starts_at)) / MIN : 30;
    var ghost = block;
    if (!s.starts_at) {  // from the side list: a floating copy travels over the grid
      ghost = block.cloneNode(true);
      ghost.style.position = "absolute";
      grid.appendChild(ghost);
      placeBlock(ghost, 0, 1, 0, length);
    }
    drag = {
      session: s, block: block, ghost: ghost, resizing: resizing, moved: false,
      startX: e.clientX, startY: e.clientY, grabY: s.starts_at ? e.clientY - rect.top : 10,
      grabX: s.starts_at ? e.clientX - rect.left : 10,
      length: length, target: null
    };
    block.dataset.dragged = "0";
    ghost.classList.add("agenda-dragging");
    document.addEventListener("pointermove", onMove);
    document.addEventListener("pointerup", onUp);
    drag.timer = window.setInterval(autoScroll, 30);
  }

  function autoScroll() {
    if (!drag || drag.lastX === undefined) { return; }
    var r = scroller.getBoundingClientRect(), edge = 40, step = 12;
    if (drag.lastY > r.bottom - edge) { scroller.scrollTop += step; }
    else if (drag.lastY < r.top + edge) { scroller.scrollTop -= step; }
    if (drag.lastX > r.right - edge && drag.lastX < r.right + edge) { scroller.scrollLeft += step; }
    else if (drag.lastX < r.left + edge && drag.lastX > r.left - edge) { scroller.scrollLeft -= step; }
    if (drag.moved) { updateTarget(); }
  }

  function onMove(e) {
    if (!drag) { return; }
    drag.lastX = e.clientX; drag.lastY = e.clientY;
    if (Math.abs(e.clientX - drag.startX) + Math.abs(e.clientY - drag.startY) > 3) { drag.moved = true; }
    if (drag.moved) { updateTarget(); }
  }

  function updateTarget() {
    var s = drag.session;
    var g = grid.getBoundingClientRect();
    if (drag.resizing) {
      var start = (ms(s.starts_at) - layout.dayStart) / MIN;
      var end = snap((ms(s.ends_at) - layout.dayStart) / MIN + (drag.lastY - drag.startY) / PX);
      end = Math.max(end, start + SNAP);
      drag.ghost.style.height = ((end - start) * PX) + "px";
      drag.target = { kind: "resize", ends: layout.dayStart + end * MIN };
      return;
    }
    var a = aside.getBoundingClientRect();
    var overAside = drag.lastX >= a.left && drag.lastX <= a.right && drag.lastY >= a.top && drag.lastY <= a.bottom;
    aside.classList.toggle("agenda-drop-target", overAside);
    if (overAside) { drag.target = { kind: "unschedule" }; return; }
    var col = s.plenary ? 0 : Math.floor((drag.lastX - drag.grabX + COL / 2 - g.left - TIMECOL) / COL);
    col = Math.max(0, Math.min(col, layout.columns.length - 1));
    var top = snap((drag.lastY - drag.grabY - g.top - HEAD) / PX);
    top = Math.max(0, Math.min(top, layout.minutes - SNAP));
    placeBlock(drag.ghost, col, s.plenary ? layout.columns.length : 1, top, drag.length);
    drag.target = { kind: "move", room: s.plenary ? s.room_id : (layout.columns[col] || {}).id, start: layout.dayStart + top * MIN };
  }

  function onUp() {
    document.removeEventListener("pointermove", onMove);
    document.removeEventListener("pointerup", onUp);
    window.clearInterval(drag.timer);
    aside.classList.remove("agenda-drop-target");
    var d = drag;
    drag = null;
    d.block.dataset.dragged = d.moved ? "1" : "0";
    if (!d.moved || !d.target) { render(); return; }
    var s = d.session, change;
    if (d.target.kind === "unschedule") {
      if (!s.starts_at) { render(); return; }
      change = { starts_at: null, ends_at: null, room_id: null };
    } else if (d.target.kind === "resize") {
      change = { starts_at: s.starts_at, ends_at: new Date(d.target.ends).toISOString(), room_id: s.room_id };
    } else {
      change = {
        starts_at: new Date(d.target.start).toISOString(),
        ends_at: new Date(d.target.start + d.length * MIN).toISOString(),
        room_id: d.target.room === undefined ? null : d.target.room
      };
    }
    save(s, change);
  }

  // --- saving --------------------------------------------------------------------------------------------------
  function save(s, change) {
    var before = { starts_at: s.starts_at, ends_at: s.ends_at, room_id: s.room_id };
    s.starts_at = change.starts_at; s.ends_at = change.ends_at; s.room_id = change.room_id;
    render();
    setStatus(labels.saving, false);
    var url = data.save_url.replace(/\/0$/, "/" + s.id);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(change)
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (!response.ok || !body || !body.session) {
          var message = (body && body.error) || (response.status + " " + response.statusText);
          throw new Error(message);
        }
        return body;
      });
    }).then(function (body) {
      sessions[s.id] = body.session;
      warnings = body.warnings;
      setStatus(labels.saved, false);
      render();
    }).catch(function (error) {
      s.starts_at = before.starts_at; s.ends_at = before.ends_at; s.room_id = before.room_id;
      setStatus(labels.save_failed.replace("%(error)s", error.message), true);
      render();
    });
  }

  root.hidden = false;
  buildTools();
  render();
})();
