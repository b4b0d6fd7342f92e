// Dub form: one submit only (a double click must not start two jobs), and a visible sign that
// the job is being started.
(function () {
  "use strict";
  var form = document.getElementById("dub-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    var button = form.querySelector("button[type=submit]");
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = gettext("Starting…");
    }
  });
})();
