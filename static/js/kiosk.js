// Frontdesk kiosk: return to the welcome screen after inactivity and after the ticket, leaving
// nothing of the last visitor behind (location.replace: no history entry, a fresh document).
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  if (!root || !root.dataset.homeUrl) return;
  var home = root.dataset.homeUrl;
  var idleMs = (parseInt(root.dataset.idleSeconds, 10) || 45) * 1000;
  var timer = null;

  function reset() { window.location.replace(home); }

  function screen() { return root.querySelector("[data-screen]"); }

  function arm() {
    clearTimeout(timer);
    var current = screen();
    if (!current) return;
    var after = current.getAttribute("data-reset-after");
    if (after) {
      timer = setTimeout(reset, (parseInt(after, 10) || 15) * 1000);
    } else if (current.getAttribute("data-screen") !== "welcome") {
      timer = setTimeout(reset, idleMs);
    }
  }

  function focusScreen() {
    var current = screen();
    if (!current) return;
    var target = current.querySelector("[aria-invalid=true], .has-error input, .has-error select") ||
      current.querySelector("h1");
    if (target) target.focus();
  }

  ["pointerdown", "keydown", "input"].forEach(function (name) {
    document.addEventListener(name, function () {
      var current = screen();
      if (current && !current.getAttribute("data-reset-after")) arm();
    }, { passive: true });
  });
  // The ticket screen, where the office offers it: print a ticket-sized page, or keep the
  // screen up (it then goes back to the welcome screen only after the usual idle time).
  document.addEventListener("click", function (event) {
    var current = screen();
    if (!current || !event.target.closest) return;
    if (event.target.closest("#print-ticket")) { arm(); window.print(); }
    if (event.target.closest("#keep-ticket")) {
      current.removeAttribute("data-reset-after");
      event.target.closest("#keep-ticket").setAttribute("aria-pressed", "true");
      arm();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function () { arm(); focusScreen(); });
  // A page restored from the back-forward cache may hold a visitor's answers: start over.
  window.addEventListener("pageshow", function (event) { if (event.persisted) reset(); });
  arm();
})();
