// The shop's page script. The button needs none of it: the widget opens
// the checkout by itself (data-stablegate-link). This only reacts to the
// widget's DOM events, and asks the shop's own server whether the order
// is paid: the widget's "paid" is a hint; the webhook decides.
(function () {
  'use strict';
  var out = document.getElementById('order');
  var filler = document.getElementById('filler');
  for (var i = 0; i < 60; i++) filler.appendChild(document.createElement('p')).textContent = 'More about the tee, line ' + (i + 1) + '.';
  window.shopEvents = [];
  ['loaded', 'method_selected', 'processing', 'paid', 'expired', 'closed'].forEach(function (type) {
    document.addEventListener('stablegate:' + type, function (e) {
      window.shopEvents.push(type);
      if (type === 'paid') confirm(e.detail.checkout);
    });
  });
  function confirm(checkout) {
    out.setAttribute('data-state', 'confirming');
    out.textContent = 'Payment seen; confirming with the shop…';
    var tries = 0;
    (function poll() {
      fetch('/orders/' + encodeURIComponent(checkout), { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (o) {
        if (o.status === 'paid') {
          out.setAttribute('data-state', 'paid');
          out.textContent = 'Order confirmed. Thank you!';
        } else if (++tries < 120) {
          setTimeout(poll, 1000);
        }
      }, function () { if (++tries < 120) setTimeout(poll, 1000); });
    })();
  }
})();
