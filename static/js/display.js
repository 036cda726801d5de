// Lobby display: an optional chime when a new ticket is called. Browsers only allow sound
// after a tap, so staff switch it on once with the button.
(function () {
  "use strict";
  var toggle = document.getElementById("chime-toggle");
  var audio = null;
  var lastCalls = null;

  function calls() {
    var board = document.getElementById("display-board");
    return board ? board.getAttribute("data-calls") || "" : "";
  }

  function chime() {
    if (!audio) return;
    var now = audio.currentTime;
    [660, 880].forEach(function (freq, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, now + i * 0.35);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.35 + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.35);
      osc.stop(now + i * 0.35 + 0.32);
    });
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      if (audio) { audio.close(); audio = null; toggle.setAttribute("aria-pressed", "false"); return; }
      audio = new (window.AudioContext || window.webkitAudioContext)();
      toggle.setAttribute("aria-pressed", "true");
    });
  }
  lastCalls = calls();
  document.body.addEventListener("htmx:afterSwap", function () {
    var current = calls();
    var before = lastCalls ? lastCalls.split(",") : [];
    if (current.split(",").some(function (c) { return c && before.indexOf(c) === -1; })) chime();
    lastCalls = current;
  });
})();
