// Paddle's overlay checkout for an order our server prepared (billing/providers/paddle.py): the
// server made a Paddle transaction for the pack or plan; Paddle.js (loaded before this script
// from PADDLE_JS_URL, or the test checkout's stand-in) opens its overlay on that transaction and
// tells us when the buyer has paid (checkout.completed) or closed it (checkout.closed).
// `OneVoicePaddle.open(checkout)` resolves to true when paid, false when closed.
(function () {
  "use strict";
  var initialized = false;
  var settle = null;

  function onEvent(event) {
    if (!settle || !event) return;
    if (event.name === "checkout.completed") {
      var done = settle;
      settle = null;
      // Paddle's own success screen stays until the buyer closes it; ours takes over at once.
      if (window.Paddle && Paddle.Checkout && Paddle.Checkout.close) Paddle.Checkout.close();
      done(true);
    } else if (event.name === "checkout.closed") {
      var closed = settle;
      settle = null;
      closed(false);
    }
  }

  function open(checkout) {
    return new Promise(function (resolve, reject) {
      if (typeof Paddle === "undefined") {
        reject(new Error(gettext("The Paddle payment window could not be loaded.")));
        return;
      }
      if (!initialized) {
        // Paddle.Initialize may run once per page; later checkouts reuse it.
        if (checkout.environment === "sandbox" && Paddle.Environment) Paddle.Environment.set("sandbox");
        Paddle.Initialize({ token: checkout.client_token, eventCallback: onEvent });
        initialized = true;
      }
      settle = resolve;
      Paddle.Checkout.open({
        transactionId: checkout.transaction_id,
        customer: checkout.customer_email ? { email: checkout.customer_email } : undefined,
        settings: { displayMode: "overlay", locale: document.documentElement.lang || "en" },
      });
    });
  }

  window.OneVoicePaddle = { open: open };
})();
