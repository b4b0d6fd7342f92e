// Buy a credit pack: our server prepares the order (id and price), the PortOne browser SDK takes
// the payment, then our server checks it with PortOne and adds the credits (POST .../complete).
(function () {
  "use strict";
  var script = document.currentScript;
  var paymentsUrl = script.dataset.paymentsUrl;
  var resultUrl = script.dataset.resultUrl;
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

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function later(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Ask our server to check the payment; while the provider is still processing it (pending),
  // ask again a few times before showing the result page (which the webhook completes anyway).
  function complete(paymentId, tries) {
    return post(paymentsUrl + "/" + encodeURIComponent(paymentId) + "/complete").then(function (completed) {
      if (!completed.ok && completed.status !== 422 && completed.status !== 409) {
        throw new Error(completed.data.detail || gettext("The payment could not be checked. It is safe to retry."));
      }
      if (completed.ok && completed.data.status === "pending" && tries > 1) {
        return later(1000).then(function () { return complete(paymentId, tries - 1); });
      }
      return completed;
    });
  }

  // Paddle (paddle-checkout.js): its overlay takes the payment, then our server asks Paddle.
  function payWithPaddle(order) {
    if (typeof OneVoicePaddle === "undefined") throw new Error(gettext("The Paddle payment window could not be loaded."));
    return OneVoicePaddle.open(order.checkout).then(function (paid) {
      if (!paid) throw new Error(gettext("The payment was not completed."));
      say(gettext("Checking the payment..."));
      return complete(order.payment_id, 5);
    }).then(function () {
      window.location.href = resultUrl + encodeURIComponent(order.payment_id);
    });
  }

  function buy(packId, button) {
    button.disabled = true;
    say(gettext("Preparing the payment..."));
    post(paymentsUrl, { pack_id: packId, currency: button.dataset.currency })
      .then(function (prepared) {
        if (!prepared.ok) throw new Error(prepared.data.detail || gettext("The payment could not be prepared."));
        var order = prepared.data;
        if (order.checkout && order.checkout.provider === "paddle") return payWithPaddle(order);
        // Stripe: its hosted Checkout page takes the payment and sends the buyer back to our
        // return page, which completes it (the webhook does too).
        if (order.checkout && order.checkout.url) {
          window.location.href = order.checkout.url;
          return null;
        }
        if (typeof PortOne === "undefined") throw new Error(gettext("The PortOne payment window could not be loaded."));
        return PortOne.requestPayment({
          storeId: order.store_id,
          channelKey: order.channel_key,
          paymentId: order.payment_id,
          orderName: order.order_name,
          totalAmount: order.amount,
          currency: order.currency,
          payMethod: order.pay_method,
          redirectUrl: order.redirect_url,
          customer: {
            customerId: order.customer.customer_id,
            email: order.customer.email,
            fullName: order.customer.full_name,
          },
        }).then(function (response) {
          if (response && response.code !== undefined && response.code !== null) {
            // Closed or refused: the server asks PortOne first, then ends the checkout (cancelled)
            // unless it was paid after all. Said either way; a failed report changes nothing.
            var message = response.message || gettext("The payment was not completed.");
            return post(paymentsUrl + "/" + encodeURIComponent(order.payment_id) + "/close").then(function (closed) {
              if (closed.ok && closed.data.status === "paid") return closed;  // paid after all: its result page
              throw new Error(message);
            });
          }
          say(gettext("Checking the payment..."));
          return post(paymentsUrl + "/" + encodeURIComponent(order.payment_id) + "/complete");
        }).then(function (completed) {
          if (!completed.ok && completed.status !== 422 && completed.status !== 409) {
            throw new Error(completed.data.detail || gettext("The payment could not be checked. It is safe to retry."));
          }
          window.location.href = resultUrl + encodeURIComponent(order.payment_id);
        });
      })
      .catch(function (error) {
        say(error.message, "error");
        button.disabled = false;
      });
  }

  document.querySelectorAll("[data-buy-pack]").forEach(function (button) {
    button.addEventListener("click", function () {
      buy(button.dataset.buyPack, button);
    });
  });
})();
