// Speakers panel and line players of the line editor.
// - Every play button (a voice's preview, a line's dubbed clip) plays through one audio element:
//   pressing another stops the first; pressing the playing one stops it.
// - A speaker's form saves with PATCH /api/v1/jobs/{id}/speakers/{speaker} (session + CSRF
//   header) without reloading: a new name is shown on the speaker and on their lines; a new voice
//   marks their lines changed, says which, and asks dubbing_lines.js for the quote again.
// Without this script the play buttons stay hidden and the forms post to the page.
(function () {
  "use strict";
  var audio = new Audio();
  var playing = null;
  var playerStatus = document.getElementById("player-status");

  function say(text) {
    if (playerStatus) playerStatus.textContent = text;
  }

  function stopped() {
    if (!playing) return;
    playing.setAttribute("aria-pressed", "false");
    playing.querySelector("[aria-hidden]").textContent = "▶";
    playing = null;
  }

  audio.addEventListener("ended", stopped);
  audio.addEventListener("error", function () {
    if (!playing) return;
    say(gettext("This could not be played. Try again in a moment."));
    stopped();
  });

  function play(button) {
    var again = playing === button;
    audio.pause();
    stopped();
    if (again) return;
    playing = button;
    button.setAttribute("aria-pressed", "true");
    button.querySelector("[aria-hidden]").textContent = "■";
    say(gettext("Loading…"));
    audio.src = button.dataset.audioUrl;
    audio.play().then(function () {
      say(gettext("Playing."));
    }).catch(function () {
      if (playing === button) {
        say(gettext("This could not be played. Try again in a moment."));
        stopped();
      }
    });
  }

  document.querySelectorAll(".player-button").forEach(function (button) {
    button.hidden = false;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () { play(button); });
  });

  var panel = document.getElementById("speakers");
  if (!panel) return;
  var base = panel.dataset.apiUrl;

  function linesOf(speaker) {
    return Array.prototype.filter.call(document.querySelectorAll(".line__speaker"), function (label) {
      return label.dataset.speaker === speaker;
    });
  }

  function checkedVoice(form) {
    var checked = form.querySelector("input[name=voice]:checked");
    return checked ? checked.value : "";
  }

  function save(form) {
    var speaker = form.dataset.speaker;
    var status = form.querySelector(".speaker__status");
    var button = form.querySelector("button[type=submit]");
    var nameInput = form.querySelector("input[name=name]");
    var body = { name: nameInput.value.replace(/\s+/g, " ").trim() };
    var voice = checkedVoice(form);
    if (voice && voice !== form.dataset.voice) body.voice = voice;
    button.disabled = true;
    status.textContent = gettext("Saving…");
    fetch(base + encodeURIComponent(speaker), {
      method: "PATCH",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json", Accept: "application/json",
        "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value,
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        if (!result.ok) {
          var errors = result.data.errors || {};
          var first = (errors.name || errors.voice || [])[0];
          throw new Error(first || result.data.detail || gettext("The speaker was not saved."));
        }
        var data = result.data;
        var display = data.name || form.dataset.defaultDisplay;
        nameInput.value = data.name;
        form.querySelectorAll(".speaker__display").forEach(function (node) { node.textContent = display; });
        var lines = linesOf(speaker);
        lines.forEach(function (label) { label.textContent = display; });
        var newVoice = data.voice && data.voice !== form.dataset.voice;
        if (data.voice) {
          form.dataset.voice = data.voice;
          var current = form.querySelector(".voice-picker__current");
          if (current) current.textContent = data.voice;
        }
        if (newVoice && lines.length) {
          var numbers = lines.map(function (label) {
            var item = label.closest(".line");
            item.classList.add("line--changed");
            item.querySelector(".line__changed").hidden = false;
            return Number(item.id.replace("line-", "")) + 1;
          });
          status.textContent = interpolate(
            ngettext("Voice saved: line %(lines)s will be spoken again when you re-render.",
                     "Voice saved: lines %(lines)s will be spoken again when you re-render.", numbers.length),
            { lines: numbers.join(", ") }, true);
          document.dispatchEvent(new CustomEvent("onevoice:lines-changed", { detail: { speaker: speaker } }));
        } else {
          status.textContent = gettext("Saved. A name changes no audio and costs nothing.");
        }
      })
      .catch(function (error) {
        status.textContent = error.message || gettext("The speaker was not saved. Check your connection and try again.");
      })
      .finally(function () { button.disabled = false; });
  }

  panel.addEventListener("submit", function (event) {
    var form = event.target.closest(".speaker__form");
    if (!form) return;
    event.preventDefault();
    save(form);
  });
})();
