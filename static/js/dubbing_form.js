// Dub form: the cost line counts every language chosen ("Also dub into" included) and says what
// is left of the balance, as the languages change; one submit only (a double click must not
// start two jobs), and a visible sign that the job is being started.
(function () {
  "use strict";
  var form = document.getElementById("dub-form");
  if (!form) return;

  var confirmBox = document.getElementById("dub-confirm");
  var target = document.getElementById("id_target_language");
  var extras = Array.prototype.slice.call(form.querySelectorAll("input[name=more_languages]"));
  var button = document.getElementById("dub-submit");

  function credits(n) {
    return interpolate(ngettext("%(credits)s credit", "%(credits)s credits", n), { credits: n }, true);
  }

  function nameOf(box) {
    var label = box.closest("label");
    return label ? label.textContent.trim() : box.value;
  }

  function recount() {
    if (!confirmBox || !target) return;
    var perLanguage = Number(confirmBox.dataset.costPerLanguage) || 0;
    var balance = Number(confirmBox.dataset.balance) || 0;
    var chosen = [target.value];
    var names = [target.options[target.selectedIndex] ? target.options[target.selectedIndex].text : target.value];
    extras.forEach(function (box) {
      // The main language is dubbed anyway: its box cannot be ticked a second time.
      var same = box.value === target.value;
      box.disabled = same;
      if (same) box.checked = false;
      if (box.checked && chosen.indexOf(box.value) < 0) {
        chosen.push(box.value);
        names.push(nameOf(box));
      }
    });
    var total = perLanguage * chosen.length;
    var left = balance - total;
    var short = Math.max(0, -left);

    document.getElementById("dub-languages").textContent = names.join(", ");
    var cost = document.getElementById("dub-cost");
    cost.dataset.cost = String(total);
    cost.textContent = credits(total);
    var after = document.getElementById("dub-balance-after");
    after.textContent = interpolate(
      ngettext("(%(credits)s credit left after this dub)", "(%(credits)s credits left after this dub)", left),
      { credits: left }, true);
    after.hidden = short > 0;
    document.getElementById("dub-short-text").textContent = interpolate(
      ngettext("You need %(credits)s more credit for this dub.", "You need %(credits)s more credits for this dub.", short),
      { credits: short }, true);
    document.getElementById("dub-short").hidden = short === 0;
    if (button && form.dataset.sent !== "1") {
      button.disabled = short > 0;
      if (short > 0) button.setAttribute("aria-describedby", "dub-short");
      else button.removeAttribute("aria-describedby");
      button.textContent = interpolate(
        ngettext("Dub for %(credits)s credit", "Dub for %(credits)s credits", total), { credits: total }, true);
    }
  }

  if (target) target.addEventListener("change", recount);
  extras.forEach(function (box) { box.addEventListener("change", recount); });
  recount();

  form.addEventListener("submit", function (event) {
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
