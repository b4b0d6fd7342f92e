// A stand-in for Paddle.js (https://cdn.paddle.com/paddle/v2/paddle.js), served by the site when
// the built-in test checkout for Paddle is on (debug, no Paddle keys: billing/paddle_sandbox.py).
// `Paddle.Initialize({token, eventCallback})` and `Paddle.Checkout.open({transactionId})` behave
// like Paddle's: the callback gets `checkout.completed` when the buyer paid and `checkout.closed`
// when they closed the checkout. Instead of Paddle's overlay it shows one dialog, clearly marked
// that no money moves; "Pay" asks the site's loopback Paddle to pay the transaction, as Paddle's
// checkout would (and Paddle's signed webhooks follow).
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var text = {
    title: data.title || "Test payment: no money moves",
    note: data.note || "This server has no Paddle keys, so this is a built-in test checkout for Paddle. No card is charged.",
    pay: data.pay || "Pay (test)",
    cancel: data.cancel || "Cancel",
    failed: data.failed || "The test payment could not be made.",
  };
  var payUrl = data.payUrl || "/credits/test-checkout/paddle/pay";
  var callback = function () {};
  var dialog = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function element(tag, attrs, content) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function close() {
    if (!dialog) return;
    if (dialog.open) dialog.close();
    dialog.remove();
    dialog = null;
  }

  function open(options) {
    close();
    var transactionId = options.transactionId;
    dialog = element("dialog", { class: "test-checkout", id: "test-checkout", "aria-labelledby": "test-checkout-title" });
    var heading = element("h2", { id: "test-checkout-title", class: "test-checkout__title" }, text.title);
    var note = element("p", { class: "test-checkout__note" }, text.note);
    var order = element("p", { class: "test-checkout__order" }, "Paddle " + transactionId);
    var error = element("p", { class: "message message--error", role: "alert", hidden: "" });
    var actions = element("div", { class: "test-checkout__actions" });
    var pay = element("button", { type: "button", class: "button", id: "test-checkout-pay" }, text.pay);
    var cancel = element("button", { type: "button", class: "button button--ghost", id: "test-checkout-cancel" }, text.cancel);
    actions.appendChild(pay);
    actions.appendChild(cancel);
    [heading, note, order, error, actions].forEach(function (node) { dialog.appendChild(node); });
    document.body.appendChild(dialog);

    function closed() {
      close();
      callback({ name: "checkout.closed", data: { transaction_id: transactionId } });
    }

    dialog.addEventListener("cancel", function (event) { event.preventDefault(); closed(); });
    cancel.addEventListener("click", closed);
    pay.addEventListener("click", function () {
      pay.disabled = cancel.disabled = true;
      fetch(payUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ transactionId: transactionId }),
      }).then(function (response) {
        if (!response.ok) throw new Error(text.failed);
        return response.json();
      }).then(function () {
        callback({ name: "checkout.completed", data: { transaction_id: transactionId, status: "completed" } });
        close();
      }).catch(function (failure) {
        error.hidden = false;
        error.textContent = failure.message || text.failed;
        pay.disabled = cancel.disabled = false;
      });
    });
    dialog.showModal();
    pay.focus();
  }

  window.Paddle = {
    Environment: { set: function () {} },
    Initialize: function (options) { callback = (options && options.eventCallback) || callback; },
    Checkout: { open: open, close: close },
    isTestCheckout: true,
  };
})();
