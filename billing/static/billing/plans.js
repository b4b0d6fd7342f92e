// Plans: choose one (our server makes the request, PortOne's browser SDK issues a billing key,
// our server checks it and charges the first month), change, cancel, resume, update the card.
// Every action is the JSON API's (API.md "Plans and subscriptions").
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script.dataset.subscriptionUrl;
  var statusBox = document.getElementById("payment-status");

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(text, kind) {
    statusBox.hidden = false;
    statusBox.className = "message message--" + (kind || "warning");
    statusBox.textContent = text;
  }

  function call(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || gettext("Something went wrong. It is safe to retry."));
        return data;
      });
    });
  }

  // The SDK issues a billing key for the request our server made; `complete` checks and uses it.
  function registerCard(order) {
    if (typeof PortOne === "undefined") throw new Error(gettext("The PortOne payment window could not be loaded."));
    return PortOne.requestIssueBillingKey({
      storeId: order.store_id,
      channelKey: order.channel_key,
      billingKeyMethod: order.billing_key_method,
      issueId: order.issue_id,
      issueName: order.issue_name,
      redirectUrl: order.redirect_url,
      customer: {
        customerId: order.customer.customer_id,
        email: order.customer.email,
        fullName: order.customer.full_name,
      },
    }).then(function (response) {
      if (response && response.code !== undefined && response.code !== null) {
        throw new Error(response.message || gettext("The card was not registered."));
      }
      say(gettext("Checking the card and charging the plan..."));
      return call("POST", url + "/complete", { billing_key_id: response.billingKey });
    });
  }

  // Go to the provider's page; the promise never settles, so nothing reloads this one meanwhile.
  function leaveFor(target) {
    window.location.href = target;
    return new Promise(function () {});
  }

  function payWithPaddle(order) {
    if (typeof OneVoicePaddle === "undefined") throw new Error(gettext("The Paddle payment window could not be loaded."));
    return OneVoicePaddle.open(order.checkout).then(function (paid) {
      if (!paid) throw new Error(gettext("The payment was not completed."));
      return leaveFor(order.checkout.success_url);
    });
  }

  function run(button, work) {
    button.disabled = true;
    say(gettext("One moment..."));
    work()
      .then(function () { window.location.reload(); })
      .catch(function (error) {
        say(error.message, "error");
        button.disabled = false;
      });
  }

  document.querySelectorAll("[data-subscribe]").forEach(function (button) {
    button.addEventListener("click", function () {
      run(button, function () {
        var body = { plan_id: button.dataset.subscribe };
        if (button.dataset.currency) body.currency = button.dataset.currency;
        return call("POST", url, body).then(function (order) {
          // A plan the provider renews itself (Stripe): its hosted checkout takes the first month.
          if (order.checkout && order.checkout.url) return leaveFor(order.checkout.url);
          // Paddle (paddle-checkout.js): its overlay takes the first month; the return page asks Paddle.
          if (order.checkout && order.checkout.provider === "paddle") return payWithPaddle(order);
          return registerCard(order);
        });
      });
    });
  });
  document.querySelectorAll("[data-change-plan]").forEach(function (button) {
    button.addEventListener("click", function () {
      run(button, function () { return call("PATCH", url, { plan_id: button.dataset.changePlan }); });
    });
  });
  document.querySelectorAll("[data-plan-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.dataset.planAction;
      run(button, function () {
        if (action === "card") return call("POST", url + "/card").then(registerCard);
        if (action === "portal") return call("POST", url + "/portal").then(function (data) { return leaveFor(data.url); });
        return call("PATCH", url, { cancel_at_period_end: action === "cancel" });
      });
    });
  });
})();
