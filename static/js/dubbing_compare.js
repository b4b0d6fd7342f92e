// Before and after on the job page: one player shows at a time, and switching keeps the moment
// and whether it was playing, so the same line can be heard in both languages. Without this
// script both players stay side by side.
(function () {
  "use strict";
  const section = document.getElementById("job-players");
  const switcher = document.getElementById("compare");
  const original = document.getElementById("original-player");
  const dubbed = document.getElementById("dubbed-player");
  if (!section || !switcher || !original || !dubbed) return;
  const figures = {original: document.getElementById("original-figure"), dubbed: document.getElementById("dubbed-figure")};
  const players = {original: original, dubbed: dubbed};
  let showing = null;

  function show(name) {
    if (name === showing) return;
    const from = showing && players[showing];
    const to = players[name];
    if (from) {
      const playing = !from.paused && !from.ended;
      from.pause();
      try { to.currentTime = from.currentTime; } catch (error) { /* not loaded yet: starts at 0 */ }
      if (playing) to.play().catch(function () {});
    }
    Object.keys(figures).forEach(function (key) { figures[key].hidden = key !== name; });
    switcher.querySelectorAll("button[data-show]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.show === name));
    });
    showing = name;
  }

  function ready() {
    // The dubbed player gets its file when the job finishes (dubbing_job.js): switch on then.
    if (dubbed.hidden || !dubbed.getAttribute("src")) return false;
    switcher.hidden = false;
    section.classList.add("job-players--compare");
    show("dubbed");
    return true;
  }

  switcher.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-show]");
    if (button) show(button.dataset.show);
  });
  if (!ready()) {
    const watch = new MutationObserver(function () { if (ready()) watch.disconnect(); });
    watch.observe(dubbed, {attributes: true, attributeFilter: ["src", "hidden"]});
  }
})();
