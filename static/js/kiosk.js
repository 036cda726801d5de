// Frontdesk kiosk: return to the welcome screen after inactivity and after the ticket, leaving
// nothing of the last visitor behind (location.replace: no history entry, a fresh document).
// It also turns the pages the server need not see: the language tapped shows that language's
// name screen (carried by the welcome screen), and a screen of two pages (name, then "been
// here before?"; reasons, then contact) turns with Next and Back. Without this script the
// same forms post one step at a time, every page showing. It draws the ticket's QR code too.
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
  // --- Pages turned on the tablet ------------------------------------------------------------
  function pagesOf(current) { return current ? current.querySelectorAll("[data-page]") : []; }

  function showPage(current, index) {
    var pages = pagesOf(current);
    for (var i = 0; i < pages.length; i++) pages[i].hidden = i !== index;
    var heading = pages[index] && pages[index].querySelector("h1");
    if (heading) heading.focus();
  }

  // A screen of several pages starts on the first page holding an error the server found,
  // else on the first; Next and Back appear (they do nothing without this script).
  function paginate() {
    var current = screen();
    var pages = pagesOf(current);
    if (pages.length < 2) return false;
    var start = 0;
    for (var i = 0; i < pages.length; i++) {
      if (pages[i].querySelector(".has-error, [role=alert]")) { start = i; break; }
    }
    current.querySelectorAll("[data-next], [data-back]").forEach(function (b) { b.hidden = false; });
    showPage(current, start);
    return true;
  }

  // Fields the page itself requires are checked before it turns, with the server's own words
  // (data-required on the field's error holder); everything else is checked by the server.
  function missing(page) {
    var first = null;
    page.querySelectorAll("input[required]").forEach(function (input) {
      var field = input.closest(".field");
      var note = field && field.querySelector(".error.client");
      var empty = !input.value.trim();
      if (empty && !note && field && field.dataset.required) {
        note = document.createElement("p");
        note.className = "error client";
        note.setAttribute("role", "alert");
        note.id = input.id + "-error";
        note.textContent = field.dataset.required;
        field.appendChild(note);
      }
      if (field) field.classList.toggle("has-error", empty);
      input.setAttribute("aria-invalid", empty ? "true" : "false");
      if (empty) { input.setAttribute("aria-describedby", input.id + "-error"); } else if (note) { note.remove(); }
      if (empty && !first) first = input;
    });
    if (first) first.focus();
    return first !== null;
  }

  root.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var current = screen();
    var language = event.target.closest("button[name=language]");
    if (language) {
      var template = root.querySelector('template[data-identify="' + language.value + '"]');
      if (!template) return;
      event.preventDefault();  // no request: the name screen is already here
      root.replaceChildren(template.content.cloneNode(true));
      document.documentElement.lang = language.value;
      if (window.htmx) window.htmx.process(root);
      arm();
      if (!paginate()) focusScreen();
      return;
    }
    var step = event.target.closest("[data-next], [data-back]");
    if (!step || !current) return;
    var pages = Array.prototype.slice.call(pagesOf(current));
    var at = pages.indexOf(step.closest("[data-page]"));
    if (at < 0) return;
    if (step.hasAttribute("data-next")) {
      if (!missing(pages[at]) && at + 1 < pages.length) showPage(current, at + 1);
    } else if (at > 0) {
      showPage(current, at - 1);
    }
  });

  // The ticket screen's QR code (the visitor's status page), drawn here rather than by the
  // server: qrcode-generator (vendored), error correction M, 5 px a module, 2 modules of margin.
  function drawQr() {
    var spots = root.querySelectorAll("[data-qr]");
    for (var i = 0; i < spots.length; i++) {
      if (spots[i].firstChild || typeof qrcode !== "function") continue;
      var qr = qrcode(0, "M");
      qr.addData(spots[i].getAttribute("data-qr"));
      qr.make();
      spots[i].innerHTML = qr.createSvgTag({ cellSize: 5, margin: 10, title: "QR" });
    }
  }

  document.body.addEventListener("htmx:afterSwap", function () {
    arm();
    drawQr();
    if (!paginate()) focusScreen();
  });
  // A page restored from the back-forward cache may hold a visitor's answers: start over.
  window.addEventListener("pageshow", function (event) { if (event.persisted) reset(); });
  arm();
  drawQr();
  paginate();
})();
