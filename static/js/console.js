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

// "For you": a visit handed over to this staff member, or their appointment's visitor checking
// in, shows in their own list; a new one chimes and, where they allowed it, raises a browser
// notification (the button asks once; browsers only allow sound after a click on the page).
(function () {
  "use strict";
  var audio = null;
  var seen = null;
  var allow = document.getElementById("notify-allow");

  function mine() {
    var section = document.querySelector("[data-for-you]");
    var ids = section ? section.getAttribute("data-for-you") : "";
    return ids ? ids.split(",") : [];
  }

  function chime() {
    if (!audio) return;
    var now = audio.currentTime;
    [880, 660].forEach(function (freq, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.25);
      osc.stop(now + i * 0.25 + 0.24);
    });
  }

  function tell(count) {
    document.body.setAttribute("data-for-you-alerts", String(
      (parseInt(document.body.getAttribute("data-for-you-alerts"), 10) || 0) + 1));
    chime();
    if ("Notification" in window && Notification.permission === "granted") {
      var heading = document.getElementById("for-you-h");
      new Notification(heading ? heading.textContent.trim() : "Frontdesk", {
        body: allow ? allow.getAttribute("data-message") : "", tag: "frontdesk-for-you",
      });
    }
  }

  document.addEventListener("click", function () {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
    }
  }, { once: true });
  if (allow && "Notification" in window && Notification.permission === "default") {
    allow.hidden = false;
    allow.addEventListener("click", function () {
      Notification.requestPermission().then(function () { allow.hidden = true; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { seen = mine(); });
  document.addEventListener("htmx:afterSettle", function () {
    var now = mine();
    var before = seen || [];
    var added = now.filter(function (id) { return before.indexOf(id) === -1; });
    seen = now;
    if (added.length) tell(added.length);
  });
})();

// The queue board comes from a cache shared by every console of the office, so its forms carry
// no CSRF token of their own: the page's token (the one htmx sends in its header) goes with
// each of them as it is submitted.
(function () {
  "use strict";
  function pageToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }
  document.addEventListener("formdata", function (event) {
    var form = event.target;
    if ((form.method || "").toLowerCase() !== "post") return;
    if (!event.formData.get("csrfmiddlewaretoken")) event.formData.set("csrfmiddlewaretoken", pageToken());
  });
})();
