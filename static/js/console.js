// Staff console: tick the waiting times every 30 s and mark waits past the office's target,
// without asking the server (the queue itself refreshes by polling).
(function () {
  "use strict";
  function tick() {
    var board = document.getElementById("queue-board");
    if (!board) return;
    var target = parseInt(board.getAttribute("data-wait-target"), 10) || 20;
    board.querySelectorAll("[data-since]").forEach(function (el) {
      var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(el.getAttribute("data-since"))) / 60000));
      el.textContent = minutes + " min";
      el.classList.toggle("late", minutes > target);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.body.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 30000);
})();

// Every row's action (Call, Call again, …) goes with the desk typed in the toolbar, typed just
// now or earlier: the server keeps the last one for the session, but the row forms don't carry
// the field themselves.
(function () {
  "use strict";
  document.addEventListener("formdata", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-uses-desk")) return;
    var desk = document.getElementById("desk-name");
    if (desk) event.formData.set("desk", desk.value.trim());
  });
})();

// Destructive row actions that cannot be undone from a toast ask first (data-confirm).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();

// The Undo toast goes when its time is up (the Done list keeps "Give place back" all day).
(function () {
  "use strict";
  function expire() {
    document.querySelectorAll(".toast[data-until]").forEach(function (toast) {
      var until = parseFloat(toast.getAttribute("data-until")) * 1000;
      var left = until - Date.now();
      if (left <= 0) { toast.hidden = true; return; }
      setTimeout(function () { toast.hidden = true; }, left);
    });
  }
  document.addEventListener("DOMContentLoaded", expire);
})();

// Focus stays where the staff member was when the board swaps: htmx puts it back on the control
// with the same id; when that row has gone (someone else called them), on the section's heading.
(function () {
  "use strict";
  var lastId = null;
  var lastSection = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "queue-board") return;
    var active = document.activeElement;
    if (active && event.detail.target.contains(active)) {
      lastId = active.id || null;
      var section = active.closest("section");
      var heading = section && section.querySelector("h2[id]");
      lastSection = heading ? heading.id : null;
    } else {
      lastId = null;
      lastSection = null;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!lastId && !lastSection) return;
    var active = document.activeElement;
    if (active && active !== document.body) { lastId = lastSection = null; return; }
    var target = (lastId && document.getElementById(lastId)) || (lastSection && document.getElementById(lastSection));
    if (target) target.focus({ preventScroll: true });
    lastId = lastSection = null;
  });
})();
