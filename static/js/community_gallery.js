// My gallery: the favourite star of each dub is saved with PATCH /api/v1/gallery/{job_id}
// (session + CSRF header) without reloading. Without this script the form posts to the page.
(function () {
  "use strict";
  var gallery = document.getElementById("gallery");
  if (!gallery || !window.fetch) return;

  gallery.addEventListener("submit", function (event) {
    var form = event.target.closest(".favorite-form");
    if (!form) return;
    event.preventDefault();
    var button = form.querySelector(".favorite-button");
    var field = form.querySelector("input[name=favorite]");
    var wanted = field.value === "1";
    button.disabled = true;
    fetch(form.dataset.apiUrl, {
      method: "PATCH",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value,
      },
      body: JSON.stringify({ favorite: wanted }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("not saved");
        return response.json();
      })
      .then(function (item) {
        button.setAttribute("aria-pressed", item.favorite ? "true" : "false");
        field.value = item.favorite ? "0" : "1";
      })
      .catch(function () { form.submit(); /* let the page say what went wrong */ })
      .finally(function () {
        button.disabled = false;
        button.focus();
      });
  });
})();
