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
