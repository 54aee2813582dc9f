/*! Stablegate checkout widget, v1. No dependencies.
 *
 * <script src="https://<gateway>/widget/v1.js" data-stablegate-key="pk_..."></script>
 * <button data-stablegate-link="plink_...">Pay with USDC</button>
 *
 * or from code:
 *   var h = Stablegate.open({paymentLink: "plink_...", publishableKey: "pk_...",
 *     onPaid: fn, onExpired: fn, onClose: fn, onEvent: fn, onError: fn});
 *   Stablegate.open({checkout: "co_...", container: "#pay"}); // inline
 *   h.close();
 *
 * The hosted page in the frame posts {source: "stablegate", version: 1,
 * type, checkout, ...} messages; only those from the gateway's origin and
 * from the frame itself are read. They are hints for the customer's
 * screen: the merchant's server confirms payment by the webhook or
 * GET /v1/checkouts/{id}. Version 1 only ever changes in backward-
 * compatible ways.
 */
(function (w, d) {
  'use strict';
  if (w.Stablegate && w.Stablegate.version === 1) return;
  var script = d.currentScript;
  var gateway = '';
  try { gateway = new URL(script.src, d.baseURI).origin; } catch (e) { /* no src: set Stablegate.gateway */ }
  var scriptKey = script && script.getAttribute('data-stablegate-key');
  var ID = /^[a-z]+_[0-9a-z]{1,64}$/;
  var FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]),select,textarea,iframe,[tabindex]:not([tabindex="-1"])';
  var openModal = null;

  function css(el, styles) {
    // CSSOM, not a style attribute: allowed by a page's strict CSP.
    for (var k in styles) el.style.setProperty(k, styles[k]);
    return el;
  }
  function el(tag, attrs, styles) {
    var e = d.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return css(e, styles || {});
  }
  function call(fn, arg) {
    if (typeof fn !== 'function') return;
    try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
  }

  // startCheckout opens a checkout from a payment link with the
  // publishable key and passes its id to done.
  function startCheckout(base, link, key, done, fail) {
    if (!ID.test(link) || link.indexOf('plink_') !== 0) return fail(new Error('Stablegate: paymentLink must be a plink_ id'));
    if (!/^pk_(test|live)_/.test(key || '')) return fail(new Error('Stablegate: a publishable key (pk_...) is required'));
    fetch(base + '/v1/payment-links/' + encodeURIComponent(link) + '/checkouts', {
      method: 'POST', headers: { Authorization: 'Bearer ' + key }, credentials: 'omit', cache: 'no-store'
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error('Stablegate: ' + ((b && b.error && b.error.message) || ('HTTP ' + r.status)));
        if (!b || !ID.test(b.id || '') || b.id.indexOf('co_') !== 0) throw new Error('Stablegate: unexpected answer');
        done(b.id);
      });
    }).catch(fail);
  }

  function open(opts) {
    opts = opts || {};
    var base = opts.gateway || api.gateway;
    var container = typeof opts.container === 'string' ? d.querySelector(opts.container) : opts.container;
    var inline = !!container;
    if (!inline && openModal) openModal.close();
    var closed = false, checkout = '', paidSeen = false, expiredSeen = false;
    var frame = el('iframe', {
      title: opts.title || 'Payment', allow: 'clipboard-write',
      referrerpolicy: 'no-referrer'
    }, { border: '0', width: '100%', height: inline ? (opts.height || '720px') : '100%', display: 'block', background: '#fff' });
    var shell, dialog, closeBtn, lastFocus = d.activeElement, overflow = '';

    if (inline) {
      shell = frame;
      container.appendChild(frame);
    } else {
      shell = el('div', { 'data-stablegate': 'overlay' }, {
        position: 'fixed', inset: '0', 'z-index': '2147483647', background: 'rgba(0,0,0,.55)',
        display: 'flex', 'align-items': 'center', 'justify-content': 'center'
      });
      dialog = el('div', { role: 'dialog', 'aria-modal': 'true', 'aria-label': opts.title || 'Payment' }, {
        position: 'relative', width: 'min(480px, 100vw)', height: 'min(760px, 100vh)', background: '#fff',
        'border-radius': '10px', overflow: 'hidden', 'box-shadow': '0 10px 40px rgba(0,0,0,.35)'
      });
      closeBtn = el('button', { type: 'button', 'aria-label': opts.closeLabel || 'Close', 'data-stablegate': 'close' }, {
        position: 'absolute', top: '6px', right: '6px', width: '36px', height: '36px', border: '0',
        'border-radius': '18px', background: 'rgba(0,0,0,.08)', color: '#111', font: '22px/36px sans-serif', cursor: 'pointer', padding: '0'
      });
      closeBtn.textContent = '\u00d7';
      closeBtn.addEventListener('click', function () { handle.close(); });
      css(frame, { position: 'absolute', top: '44px', left: '0', height: 'calc(100% - 44px)' });
      dialog.appendChild(closeBtn);
      dialog.appendChild(frame);
      shell.appendChild(dialog);
      shell.addEventListener('mousedown', function (e) { if (e.target === shell) handle.close(); });
      d.body.appendChild(shell);
      // The page behind does not scroll while the modal is open.
      overflow = d.documentElement.style.overflow;
      d.documentElement.style.overflow = 'hidden';
      d.addEventListener('keydown', onKey, true);
      d.addEventListener('focusin', onFocus, true);
      closeBtn.focus();
    }

    function onKey(e) {
      if (e.key === 'Escape') { e.preventDefault(); handle.close(); return; }
      if (e.key !== 'Tab') return;
      // Focus stays in the dialog: its close button and the frame.
      var items = dialog.querySelectorAll(FOCUSABLE), first = items[0], last = items[items.length - 1];
      if (e.shiftKey && d.activeElement === first) { e.preventDefault(); last.focus(); } else if (!e.shiftKey && d.activeElement === last) { e.preventDefault(); first.focus(); }
    }
    function onFocus(e) {
      if (dialog && !dialog.contains(e.target)) closeBtn.focus();
    }
    function emit(type, msg) {
      msg = msg || { source: 'stablegate', version: 1, type: type, checkout: checkout };
      call(opts.onEvent, msg);
      if (opts.element) {
        try { opts.element.dispatchEvent(new CustomEvent('stablegate:' + type, { detail: msg, bubbles: true })); } catch (e) { /* old browser */ }
      }
    }
    function onMessage(e) {
      // Only the gateway's own page in this very frame may speak.
      if (e.origin !== base || e.source !== frame.contentWindow) return;
      var m = e.data;
      if (!m || typeof m !== 'object' || m.source !== 'stablegate' || m.version !== 1 || m.checkout !== checkout || typeof m.type !== 'string') return;
      if (m.type === 'closed') { handle.close(); return; } // the customer pressed Escape in the frame
      emit(m.type, m);
      if (m.type === 'paid' && !paidSeen) { paidSeen = true; call(opts.onPaid, m); }
      if (m.type === 'expired' && !expiredSeen) { expiredSeen = true; call(opts.onExpired, m); }
    }

    var handle = {
      close: function () {
        if (closed) return;
        closed = true;
        w.removeEventListener('message', onMessage);
        if (shell.parentNode) shell.parentNode.removeChild(shell);
        if (!inline) {
          d.removeEventListener('keydown', onKey, true);
          d.removeEventListener('focusin', onFocus, true);
          d.documentElement.style.overflow = overflow;
          if (openModal === handle) openModal = null;
          if (lastFocus && lastFocus.focus) lastFocus.focus();
        }
        emit('closed');
        call(opts.onClose, { checkout: checkout, paid: paidSeen });
      },
      checkout: function () { return checkout; }
    };
    if (!inline) openModal = handle;

    function show(id) {
      if (closed) return;
      checkout = id;
      w.addEventListener('message', onMessage);
      var q = 'embed=1&origin=' + encodeURIComponent(w.location.origin);
      if (opts.lang) q += '&lang=' + encodeURIComponent(opts.lang);
      frame.src = base + '/pay/' + encodeURIComponent(id) + '?' + q;
    }
    function fail(err) {
      if (closed) return;
      call(opts.onError, err);
      if (typeof opts.onError !== 'function' && w.console) w.console.error(err);
      handle.close();
    }
    if (!/^https?:\/\/[^/]+$/.test(base || '')) {
      fail(new Error('Stablegate: unknown gateway; load widget.js from it or set Stablegate.gateway'));
    } else if (opts.checkout) {
      if (ID.test(opts.checkout) && opts.checkout.indexOf('co_') === 0) { show(opts.checkout); } else { fail(new Error('Stablegate: checkout must be a co_ id')); }
    } else {
      startCheckout(base, opts.paymentLink, opts.publishableKey || scriptKey, show, fail);
    }
    return handle;
  }

  // Declarative buttons: data-stablegate-link (with data-stablegate-key
  // here or on the script tag) or data-stablegate-checkout. Each button
  // gets stablegate:<type> DOM events.
  d.addEventListener('click', function (e) {
    var b = e.target && e.target.closest && e.target.closest('[data-stablegate-link],[data-stablegate-checkout]');
    if (!b) return;
    e.preventDefault();
    open({
      paymentLink: b.getAttribute('data-stablegate-link'),
      checkout: b.getAttribute('data-stablegate-checkout'),
      publishableKey: b.getAttribute('data-stablegate-key') || scriptKey,
      container: b.getAttribute('data-stablegate-container') || null,
      lang: b.getAttribute('data-stablegate-lang') || undefined,
      element: b
    });
  });

  var api = { version: 1, gateway: gateway, open: open };
  w.Stablegate = api;
})(window, document);
