// sessiond console: the little the pages need beyond htmx. Loaded from 'self' only (the
// Content-Security-Policy allows nothing inline), no eval, no other origin.
(function () {
  "use strict";

  // A GET filter form submits every field; empty ones are left out of the URL so a shared
  // view reads as the filter it is.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.classList || !f.classList.contains("filters")) return;
    Array.prototype.forEach.call(f.elements, function (el) {
      if (el.name && !el.value) el.disabled = true;
    });
  });

  document.addEventListener("change", function (ev) {
    if (ev.target.id !== "select-all") return;
    var on = ev.target.checked;
    document.querySelectorAll("#sessions-table input[name=id]").forEach(function (c) {
      c.checked = on;
    });
  });

  document.addEventListener("click", function (ev) {
    var sel = ev.target.getAttribute && ev.target.getAttribute("data-clear");
    if (!sel) return;
    var t = document.querySelector(sel);
    if (t) t.textContent = "";
  });

  // Live table: follow the event stream and re-read the table after changes (at most once a
  // second), keeping the rows the operator has ticked.
  var source = null, pending = null;
  function checkedIds() {
    return Array.prototype.map.call(
      document.querySelectorAll("#sessions-table input[name=id]:checked"),
      function (c) { return c.value; });
  }
  function refresh() {
    pending = null;
    var t = document.getElementById("sessions-table");
    if (!t || !window.htmx) return;
    var keep = checkedIds();
    window.htmx.ajax("GET", t.getAttribute("data-refresh"), {target: "#sessions-table", swap: "outerHTML"})
      .then(function () {
        keep.forEach(function (id) {
          var c = document.querySelector('#sessions-table input[name=id][value="' + id + '"]');
          if (c) c.checked = true;
        });
      });
  }
  function follow() {
    var t = document.getElementById("sessions-table");
    var url = t && t.getAttribute("data-events");
    if (!url || source || !window.EventSource) return;
    source = new EventSource(url);
    var status = function (text) {
      var s = document.getElementById("live-status");
      if (s) s.setAttribute("data-live", text);
      document.body.setAttribute("data-live", text);
    };
    source.onopen = function () { status("connected"); };
    source.onerror = function () { status("reconnecting"); };
    var changed = function () { if (!pending) pending = setTimeout(refresh, 1000); };
    ["session.created", "session.closed", "session.terminated", "session.expired"].forEach(function (k) {
      source.addEventListener(k, changed);
    });
  }
  document.addEventListener("DOMContentLoaded", follow);
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
