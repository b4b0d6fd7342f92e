// Like buttons (community feed and post page): each like form is sent to the API
// (POST or DELETE /api/v1/posts/{id}/like, session + CSRF header) without reloading, and the
// button shows the count and state the server answered. Without this script the same forms post
// to the page, which likes and comes back. Also: starting one dub pauses any other playing.
(function () {
  "use strict";

  function csrf(form) {
    return form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  function show(form, state) {
    var button = form.querySelector(".like-button");
    var action = form.querySelector("input[name=action]");
    button.setAttribute("aria-pressed", state.liked_by_me ? "true" : "false");
    form.querySelector(".like-button__count").textContent = String(state.like_count);
    action.value = state.liked_by_me ? "unlike" : "like";
    var status = form.querySelector(".like-form__status");
    if (status) {
      var n = state.like_count;
      var text = state.liked_by_me
        ? ngettext("Liked. %(count)s like.", "Liked. %(count)s likes.", n)
        : ngettext("Like taken back. %(count)s like.", "Like taken back. %(count)s likes.", n);
      status.textContent = interpolate(text, { count: n }, true);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".like-form");
    if (!form || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector(".like-button");
    if (button.disabled) return;
    var liking = form.querySelector("input[name=action]").value !== "unlike";
    button.disabled = true;
    fetch(form.dataset.apiUrl, {
      method: liking ? "POST" : "DELETE",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf(form) },
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) throw new Error(result.body.detail || gettext("Could not save the like."));
        show(form, result.body);
      })
      .catch(function (error) {
        var status = form.querySelector(".like-form__status");
        if (status) status.textContent = error.message || gettext("Could not save the like. Try again.");
      })
      .finally(function () {
        button.disabled = false;
        button.focus();
      });
  });

  // One dub at a time: playing one pauses the others in the grid.
  document.addEventListener("play", function (event) {
    if (!event.target.classList || !event.target.classList.contains("community-media")) return;
    document.querySelectorAll(".community-media").forEach(function (media) {
      if (media !== event.target && !media.paused) media.pause();
    });
  }, true);
})();
