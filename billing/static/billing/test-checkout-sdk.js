// A stand-in for PortOne's browser SDK (https://cdn.portone.io/v2/browser-sdk.js), served by
// the site when the built-in test checkout is on (debug, no PortOne keys: billing/sandbox.py).
// `PortOne.requestPayment(request)` and `PortOne.requestIssueBillingKey(request)` answer like the real SDK: a response with paymentId and
// txId when paid, or with `code` and `message` when the user cancels or the PG refuses. Instead
// of a card company's window it shows one page, clearly marked that no money moves; "Pay" asks
// the site's loopback PortOne server to record the payment, as the PG would.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var text = {
    title: data.title || "Test payment: no money moves",
    note: data.note || "This server has no payment keys, so this is a built-in test checkout. No card is charged.",
    pay: data.pay || "Pay (test)",
    cancel: data.cancel || "Cancel",
    cancelled: data.cancelled || "The payment was cancelled.",
    failed: data.failed || "The test payment could not be made.",
    cardTitle: data.cardTitle || "Test card: no money moves",
    register: data.register || "Register card (test)",
  };
  var payUrl = data.payUrl || "/credits/test-checkout/pay";
  var billingKeyUrl = data.billingKeyUrl || "/credits/test-checkout/billing-key";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // "Pay" or "Register card": the site's loopback PortOne records it as the PG would; the answer
  // (or what went wrong) finishes the dialog, and a failure lets the user try again.
  function confirmOnClick(button, cancel, error, url, body, finish) {
    button.addEventListener("click", function () {
      button.disabled = cancel.disabled = true;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify(body),
      }).then(function (response) {
        if (!response.ok) throw new Error(text.failed);
        return response.json();
      }).then(finish).catch(function (failure) {
        error.hidden = false;
        error.textContent = failure.message || text.failed;
        button.disabled = cancel.disabled = false;
      });
    });
  }

  function price(amount, currency) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, {
        style: "currency",
        currency: currency,
        maximumFractionDigits: currency === "KRW" ? 0 : 2,
      }).format(amount);
    } catch (error) {
      return amount + " " + currency;
    }
  }

  function element(tag, attrs, content) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function requestPayment(request) {
    return new Promise(function (resolve) {
      var dialog = element("dialog", { class: "test-checkout", id: "test-checkout", "aria-labelledby": "test-checkout-title" });
      var heading = element("h2", { id: "test-checkout-title", class: "test-checkout__title" }, text.title);
      var note = element("p", { class: "test-checkout__note" }, text.note);
      var order = element("p", { class: "test-checkout__order" });
      order.appendChild(element("span", {}, request.orderName));
      order.appendChild(document.createTextNode(" "));
      order.appendChild(element("strong", { class: "test-checkout__amount" }, price(request.totalAmount, request.currency)));
      var error = element("p", { class: "message message--error", role: "alert", hidden: "" });
      var actions = element("div", { class: "test-checkout__actions" });
      var pay = element("button", { type: "button", class: "button", id: "test-checkout-pay" }, text.pay);
      var cancel = element("button", { type: "button", class: "button button--ghost", id: "test-checkout-cancel" }, text.cancel);
      actions.appendChild(pay);
      actions.appendChild(cancel);
      [heading, note, order, error, actions].forEach(function (node) { dialog.appendChild(node); });
      document.body.appendChild(dialog);
      var settled = false;

      function finish(response) {
        if (settled) return;
        settled = true;
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(response);
      }

      function cancelled() {
        finish({ paymentId: request.paymentId, code: "FAILURE_TYPE_PG", message: text.cancelled });
      }

      dialog.addEventListener("cancel", function (event) { event.preventDefault(); cancelled(); });
      cancel.addEventListener("click", cancelled);
      confirmOnClick(pay, cancel, error, payUrl, {
        storeId: request.storeId,
        channelKey: request.channelKey,
        paymentId: request.paymentId,
        orderName: request.orderName,
        totalAmount: request.totalAmount,
        currency: request.currency,
      }, finish);
      dialog.showModal();
      pay.focus();
    });
  }

  // The card company's side of registering a card: the site's loopback PortOne issues a billing
  // key for this request's issueId, and the answer carries it as the real SDK's does.
  function requestIssueBillingKey(request) {
    return new Promise(function (resolve) {
      var dialog = element("dialog", { class: "test-checkout", id: "test-checkout", "aria-labelledby": "test-checkout-title" });
      var heading = element("h2", { id: "test-checkout-title", class: "test-checkout__title" }, text.cardTitle);
      var note = element("p", { class: "test-checkout__note" }, text.note);
      var order = element("p", { class: "test-checkout__order" }, request.issueName || "");
      var error = element("p", { class: "message message--error", role: "alert", hidden: "" });
      var actions = element("div", { class: "test-checkout__actions" });
      var register = element("button", { type: "button", class: "button", id: "test-checkout-register" }, text.register);
      var cancel = element("button", { type: "button", class: "button button--ghost", id: "test-checkout-cancel" }, text.cancel);
      actions.appendChild(register);
      actions.appendChild(cancel);
      [heading, note, order, error, actions].forEach(function (node) { dialog.appendChild(node); });
      document.body.appendChild(dialog);
      var settled = false;

      function finish(response) {
        if (settled) return;
        settled = true;
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(response);
      }

      function cancelled() {
        finish({ code: "FAILURE_TYPE_PG", message: text.cancelled });
      }

      dialog.addEventListener("cancel", function (event) { event.preventDefault(); cancelled(); });
      cancel.addEventListener("click", cancelled);
      confirmOnClick(register, cancel, error, billingKeyUrl, {
        storeId: request.storeId,
        channelKey: request.channelKey,
        issueId: request.issueId,
        issueName: request.issueName,
        customer: request.customer,
      }, finish);
      dialog.showModal();
      register.focus();
    });
  }

  window.PortOne = { requestPayment: requestPayment, requestIssueBillingKey: requestIssueBillingKey, isTestCheckout: true };
})();
