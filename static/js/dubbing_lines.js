// Line editor: each line's form saves with PATCH /api/v1/jobs/{id}/segments/{index} (session +
// CSRF header) without reloading; the re-render quote is then asked again (GET .../render).
// Without this script the same forms post to the page, which saves and comes back.
(function () {
  "use strict";
  var list = document.getElementById("lines");
  if (!list) return;
  var base = list.dataset.apiUrl;
  var panel = document.getElementById("render-panel");
  var quoteText = document.getElementById("render-quote");
  var renderButton = document.getElementById("render-button");
  var buyLink = document.getElementById("render-buy");

  function csrf(form) {
    return form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  // The same whole sentences as dubbing/_render_quote.html (djangojs.po holds their Korean).
  function showQuote(quote) {
    var n = quote.changed_segments.length;
    var short = quote.cost_credits > quote.balance;
    if (!n) {
      quoteText.textContent = gettext("No line has changed since the last render.");
    } else {
      var lines = interpolate(
        ngettext("%(lines)s changed line, %(seconds)s s of speech.", "%(lines)s changed lines, %(seconds)s s of speech.", n),
        { lines: n, seconds: quote.changed_seconds.toFixed(1) }, true);
      // The catalog's sentence carries the <strong>; only a number goes into it, so it is safe as HTML.
      var cost = document.createElement("span");
      cost.innerHTML = interpolate(
        ngettext("Re-rendering costs <strong>%(credits)s credit</strong>.", "Re-rendering costs <strong>%(credits)s credits</strong>.", quote.cost_credits),
        { credits: Number(quote.cost_credits) }, true);
      var balance = interpolate(
        ngettext("Your balance: %(credits)s credit.", "Your balance: %(credits)s credits.", quote.balance),
        { credits: quote.balance }, true);
      quoteText.textContent = lines + " ";
      quoteText.append(cost, " " + balance + (short ? " " + gettext("That is not enough.") : ""));
    }
    if (renderButton) renderButton.disabled = !n || short;  // absent while the email waits for confirmation
    if (buyLink) buyLink.hidden = !short;
  }

  function refreshQuote() {
    if (!panel) return;
    fetch(panel.dataset.quoteUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (quote) { if (quote) showQuote(quote); })
      .catch(function () { /* the quote shown stays; the server checks again on render */ });
  }

  // The speakers panel (dubbing_speakers.js) changed a voice: its lines count as changed now.
  document.addEventListener("onevoice:lines-changed", refreshQuote);

  function save(form) {
    var index = form.dataset.index;
    var text = form.querySelector("textarea");
    var status = form.querySelector(".line__status");
    var button = form.querySelector("button[type=submit]");
    var value = text.value.replace(/\s+/g, " ").trim();
    if (!value) {
      status.textContent = gettext("A line cannot be empty.");
      text.focus();
      return;
    }
    button.disabled = true;
    status.textContent = gettext("Saving…");
    fetch(base + index, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf(form) },
      body: JSON.stringify({ target_text: value }),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) throw new Error(result.body.detail || gettext("The line was not saved."));
        text.value = result.body.target_text;
        text.defaultValue = result.body.target_text;
        status.textContent = gettext("Saved.");
        var item = form.closest(".line");
        item.classList.toggle("line--changed", result.body.changed);
        item.querySelector(".line__changed").hidden = !result.body.changed;
        refreshQuote();
      })
      .catch(function (error) {
        status.textContent = error.message || gettext("The line was not saved. Check your connection and try again.");
      })
      .finally(function () { button.disabled = false; });
  }

  list.addEventListener("submit", function (event) {
    var form = event.target.closest(".line__form");
    if (!form) return;
    event.preventDefault();
    save(form);
  });

  // Ctrl+Enter (or Cmd+Enter) in a line saves it from the keyboard without leaving the field.
  list.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("textarea")) {
      event.preventDefault();
      save(event.target.closest(".line__form"));
    }
  });

  list.addEventListener("input", function (event) {
    if (!event.target.matches("textarea")) return;
    var status = event.target.closest(".line__form").querySelector(".line__status");
    status.textContent = event.target.value !== event.target.defaultValue ? gettext("Not saved yet.") : "";
  });
})();
