// Hosted payment page enhancements. The page works without this script;
// it adds copy buttons, the countdown, live status (Server-Sent Events,
// polling as a fallback), the receipt and redirect, and paying with an
// injected EIP-1193 wallet or, on Solana, a Wallet Standard wallet or an
// injected Solana provider. No libraries, no inline code (CSP).
(function () {
  'use strict';
  var root = document.getElementById('main');
  if (!root || !root.getAttribute('data-config')) return;
  var cfg;
  try { cfg = JSON.parse(root.getAttribute('data-config')); } catch (e) { return; }
  var msgs = cfg.msgs || {};
  var skew = cfg.now * 1000 - Date.now();
  var state = cfg.state;
  var $ = function (id) { return document.getElementById(id); };
  var t = function (key, vars) {
    var s = msgs[key] || key;
    for (var k in vars || {}) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  };
  var open = function (s) { return s === 'open'; };
  var paid = function (s) { return s === 'paid' || s === 'overpaid' || s === 'paid_late'; };

  // Embedded by the checkout widget: tell the merchant's page what happens
  // (the message schema is in the README), posting only to the origin the
  // server checked against the merchant's allowed origins, never to "*".
  var embed = cfg.embed_origin && window.parent !== window ? cfg.embed_origin : '';
  var told = '';
  function tell(type, extra) {
    if (!embed) return;
    var m = { source: 'stablegate', version: 1, type: type, checkout: cfg.id };
    for (var k in extra || {}) m[k] = extra[k];
    window.parent.postMessage(m, embed);
  }
  function tellState(v) {
    var type = paid(v.state) ? 'paid' : v.state === 'processing' || v.state === 'expired' ? v.state : '';
    if (!type || type === told) return;
    told = type;
    var p = v.payment;
    tell(type, { state: v.state, payment: p ? { chain: p.chain, token: p.token, tx_hash: p.tx_hash } : null });
  }
  if (embed) {
    tell('loaded', { state: state });
    tellState({ state: state, payment: null }); // a page opened already paid or expired
    document.addEventListener('submit', function (e) {
      var f = e.target, c = f.elements && f.elements.chain, tk = f.elements && f.elements.token;
      if (c && tk) tell('method_selected', { payment_method: { chain: c.value, token: tk.value } });
    });
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape') tell('closed'); });
  }

  if (/^#[0-9a-fA-F]{6}$/.test(cfg.accent || '')) {
    // CSSOM, not a style attribute: allowed by style-src 'self'.
    document.documentElement.style.setProperty('--accent', cfg.accent);
  }

  // Copy buttons.
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (ok, fail) {
      var ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.className = 'skip';
      document.body.appendChild(ta);
      ta.select();
      var done = false;
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
      document.body.removeChild(ta);
      if (done) { ok(); } else { fail(); }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy-from]'), function (b) {
    var src = $(b.getAttribute('data-copy-from'));
    if (!src) return;
    b.hidden = false;
    b.addEventListener('click', function () {
      var m = $('copy-msg');
      copy(src.getAttribute('data-copy')).then(function () {
        if (m) m.textContent = t('copied') + ': ' + src.getAttribute('data-copy');
      }, function () {
        if (m) m.textContent = t('copy_failed');
      });
    });
  });

  // Countdown.
  var cd = $('countdown-time');
  function tick() {
    if (!cd) return;
    var left = Math.max(0, Math.floor((cfg.expires_at * 1000 - (Date.now() + skew)) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left / 60) % 60, s = left % 60;
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    cd.textContent = (h ? h + ':' + pad(m) : m) + ':' + pad(s);
    if (left === 0 && open(state)) apply({ state: 'expired', status: 'open', final: false, payment: null });
  }
  tick();
  var timer = setInterval(tick, 1000);

  // Live status.
  function apply(v) {
    var was = state;
    state = v.state;
    var st = $('status');
    if (st) {
      var text = t(open(state) && !$('instructions') ? 'state.choose' : 'state.' + state);
      var p = v.payment;
      if (state === 'processing' && p && p.confirmations_required > 0) {
        text += ' · ' + t('confirmations', { n: p.confirmations, total: p.confirmations_required });
      }
      if (st.textContent !== text) st.textContent = text;
      st.setAttribute('data-state', state);
    }
    root.setAttribute('data-state', state);
    tellState(v);
    ['methods', 'instructions', 'countdown'].forEach(function (id) {
      var el = $(id);
      if (el) el.hidden = !open(state) || (id === 'methods' && !el.querySelector('button'));
    });
    if (open(state) && !open(was) && !$('instructions') && v.payment_method) {
      location.reload(); // a reorg undid the payment: show the instructions again
      return;
    }
    var up = $('underpaid');
    if (up) {
      up.hidden = state !== 'underpaid';
      if (state === 'underpaid') up.textContent = t('underpaid_detail', { received: v.amount_received, due: v.amount_due });
    }
    if (v.payment) receipt(v);
    if (paid(state)) {
      clearInterval(timer);
      redirect(v.success_url);
    }
    if (v.final) stop();
  }

  function receipt(v) {
    var p = v.payment, r = $('receipt');
    if (!r) return;
    $('receipt-amount').textContent = p.amount + ' ' + p.token;
    var a = $('tx-link');
    a.textContent = p.tx_hash.length > 20 ? p.tx_hash.slice(0, 10) + '\u2026' + p.tx_hash.slice(-8) : p.tx_hash;
    if (/^https?:\/\//.test(p.explorer_url)) { a.href = p.explorer_url; } else { a.removeAttribute('href'); }
    var at = v.paid_at || p.block_time, tm = $('receipt-time');
    if (at) {
      tm.setAttribute('datetime', new Date(at * 1000).toISOString());
      try { tm.textContent = new Date(at * 1000).toLocaleString(document.documentElement.lang); } catch (e) { tm.textContent = new Date(at * 1000).toISOString(); }
    }
    r.hidden = false;
  }

  var redirecting = false;
  function redirect(url) {
    if (redirecting || !/^https?:\/\//.test(url || '')) return;
    redirecting = true;
    var link = $('continue-link'), box = $('continue'), msg = $('redirect');
    if (link) { link.href = url; box.hidden = false; }
    if (embed) { if (link) link.target = '_top'; return; } // the merchant's page decides; no redirect inside its frame
    var left = 5;
    var show = function () { if (msg) { msg.hidden = false; msg.textContent = t('redirect', { s: left }); } };
    show();
    var iv = setInterval(function () {
      left--;
      if (left <= 0) { clearInterval(iv); location.assign(url); } else { show(); }
    }, 1000);
  }

  var es = null, poll = null, stopped = false, started = Date.now();
  function stop() {
    stopped = true;
    if (es) es.close();
    if (poll) clearInterval(poll);
  }
  function fetchStatus() {
    if (stopped) return;
    if (Date.now() - started > 2 * 3600 * 1000) { stop(); return; }
    fetch(cfg.status_url, { cache: 'no-store', credentials: 'omit' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (v) { if (v) apply(v); }, function () {});
  }
  function startPolling() {
    if (poll || stopped) return;
    poll = setInterval(fetchStatus, 4000);
    fetchStatus();
  }
  // Leaving the page closes the stream: do not start polling for it.
  window.addEventListener('pagehide', stop);
  window.addEventListener('pageshow', function (e) { if (e.persisted) location.reload(); });
  if (!cfg.final) {
    if (window.EventSource) {
      es = new EventSource(cfg.events_url);
      es.onmessage = function (e) {
        try { apply(JSON.parse(e.data)); } catch (err) { /* keep listening */ }
      };
      es.onerror = function () {
        // CLOSED means the browser gave up (an HTTP error): poll instead.
        // Otherwise it reconnects by itself, as after the stream's end.
        if (es.readyState === 2) setTimeout(startPolling, 2000);
        if (Date.now() - started > 2 * 3600 * 1000) stop();
      };
    } else {
      startPolling();
    }
  }

  // Pay with an injected EIP-1193 wallet.
  var w = cfg.wallet, btn = $('wallet-pay');
  if (w && btn && window.ethereum && typeof BigInt === 'function' && open(state)) {
    btn.hidden = false;
    btn.addEventListener('click', function () {
      btn.disabled = true;
      payWithWallet(window.ethereum).then(function () {
        say(t('wallet.sent'));
      }, function (e) {
        btn.disabled = false;
        if (e && e.code === 4001) { say(t('wallet.rejected')); } else { say(e && e.add ? t('wallet.add_network', { chain: w.chain_name }) : t('wallet.failed', { error: (e && e.message) || String(e) })); }
      });
    });
  }
  function say(s) { var m = $('wallet-msg'); if (m) m.textContent = s; }
  function word(hex) {
    if (hex.length > 64) throw new Error('value too large');
    return '0'.repeat(64 - hex.length) + hex;
  }
  function transferData(to, amount) {
    // transfer(address,uint256): selector, then two 32-byte words.
    return '0xa9059cbb' + word(to.replace(/^0x/i, '').toLowerCase()) + word(BigInt(amount).toString(16));
  }
  function payWithWallet(eth) {
    var from;
    say(t('wallet.connecting'));
    return eth.request({ method: 'eth_requestAccounts' }).then(function (accounts) {
      from = accounts && accounts[0];
      if (!from) throw new Error('no account');
      return eth.request({ method: 'eth_chainId' });
    }).then(function (id) {
      if (String(id).toLowerCase() === w.chain_id) return null;
      say(t('wallet.switching', { chain: w.chain_name }));
      return eth.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: w.chain_id }] }).catch(function (e) {
        var code = e && (e.code || (e.data && e.data.originalError && e.data.originalError.code));
        if (code !== 4902) throw e;
        if (!w.rpc_urls || !w.rpc_urls.length) { var err = new Error('unknown chain'); err.add = true; throw err; }
        var chain = {
          chainId: w.chain_id, chainName: w.chain_name, rpcUrls: w.rpc_urls,
          nativeCurrency: { name: w.native_symbol, symbol: w.native_symbol, decimals: 18 }
        };
        if (w.explorer_url) chain.blockExplorerUrls = [w.explorer_url];
        return eth.request({ method: 'wallet_addEthereumChain', params: [chain] });
      });
    }).then(function () {
      // Adding a chain need not switch to it, and the customer may switch
      // away meanwhile: send only on the checkout's chain.
      return eth.request({ method: 'eth_chainId' });
    }).then(function (id) {
      if (String(id).toLowerCase() !== w.chain_id) throw new Error('wrong chain');
      say(t('wallet.connecting'));
      return eth.request({
        method: 'eth_sendTransaction',
        params: [{ from: from, to: w.contract, value: '0x0', chainId: w.chain_id, data: transferData(w.to, w.amount) }]
      });
    });
  }

  // Pay with a Solana browser wallet: the gateway builds the payment (a
  // Solana Pay transaction request) for the wallet's account, the wallet
  // signs and sends it, and the live status above shows it arriving.
  var sw = cfg.solana_wallet, standard = null;
  if (sw && btn && open(state) && window.Uint8Array && window.fetch) {
    // Wallet Standard discovery, as @wallet-standard/app does it: answer
    // the wallets that announce themselves, and tell the ones that loaded
    // first that the page is ready.
    var api = Object.freeze({ register: function () {
      for (var i = 0; i < arguments.length; i++) consider(arguments[i]);
      return function () {};
    } });
    window.addEventListener('wallet-standard:register-wallet', function (e) {
      try { e.detail(api); } catch (err) { /* a broken wallet: ignore it */ }
    });
    try { window.dispatchEvent(new CustomEvent('wallet-standard:app-ready', { detail: api })); } catch (err) { /* no wallets */ }
    if (!standard && legacy()) showSolana();
  }
  // consider takes the first wallet that can connect, sign and send a
  // legacy transaction on the checkout's chain.
  function consider(wallet) {
    var f = wallet && wallet.features;
    if (standard || !f || !f['standard:connect'] || !f['solana:signAndSendTransaction']) return;
    if (!wallet.chains || wallet.chains.indexOf(sw.chain) < 0) return;
    var v = f['solana:signAndSendTransaction'].supportedTransactionVersions;
    if (v && v.indexOf('legacy') < 0) return;
    standard = wallet;
    showSolana();
  }
  function legacy() {
    var p = (window.phantom && window.phantom.solana) || window.solana;
    return p && typeof p.connect === 'function' && typeof p.request === 'function' ? p : null;
  }
  var shown = false;
  function showSolana() {
    if (shown) return;
    shown = true;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      btn.disabled = true;
      say(t('wallet.connecting'));
      payWithSolana().then(function () {
        say(t('wallet.sent'));
      }, function (e) {
        btn.disabled = false;
        var m = (e && (e.message || e.name)) || String(e);
        if (e && e.msg) { say(e.msg); } else if ((e && e.code === 4001) || /reject|cancel|denied/i.test(m)) { say(t('wallet.rejected')); } else { say(t('wallet.failed', { error: m })); }
      });
    });
  }
  function payWithSolana() {
    if (standard) {
      var account;
      return standard.features['standard:connect'].connect().then(function (r) {
        var as = (r && r.accounts && r.accounts.length ? r.accounts : standard.accounts) || [];
        for (var i = 0; i < as.length && !account; i++) if (!as[i].chains || as[i].chains.indexOf(sw.chain) >= 0) account = as[i];
        if (!account) throw new Error('no account');
        return transaction(account.address);
      }).then(function (tx) {
        say(t('wallet.connecting'));
        return standard.features['solana:signAndSendTransaction'].signAndSendTransaction({ account: account, chain: sw.chain, transaction: tx });
      });
    }
    var p = legacy();
    return p.connect().then(function (r) {
      var key = (r && r.publicKey) || p.publicKey;
      if (!key) throw new Error('no account');
      return transaction(key.toBase58 ? key.toBase58() : String(key));
    }).then(function (tx) {
      say(t('wallet.connecting'));
      return p.request({ method: 'signAndSendTransaction', params: { message: base58(message(tx)) } });
    });
  }
  // transaction asks the gateway for the payment from account and returns
  // its wire bytes.
  function transaction(account) {
    say(t('wallet.preparing'));
    return fetch(sw.transaction_url, {
      method: 'POST', cache: 'no-store', credentials: 'omit',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ account: account })
    }).then(function (r) {
      return r.json().then(function (b) {
        if (r.ok && b && b.transaction) return b;
        var code = b && b.error && b.error.code, err = new Error((b && b.error && b.error.message) || 'HTTP ' + r.status);
        err.msg = msgs['error.' + code] || t('error.generic');
        throw err;
      });
    }).then(function (b) {
      var bin = atob(b.transaction), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    });
  }
  // message returns the message of a wire transaction: after the
  // compact-u16 count of signatures and 64 bytes for each.
  function message(tx) {
    var n = 0, shift = 0, i = 0, c;
    do { c = tx[i++]; n |= (c & 0x7f) << shift; shift += 7; } while (c & 0x80 && i < 3);
    return tx.subarray(i + 64 * n);
  }
  var ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  function base58(bytes) {
    var digits = [], out = '', i, j, carry;
    for (i = 0; i < bytes.length; i++) {
      carry = bytes[i];
      for (j = 0; j < digits.length; j++) { carry += digits[j] << 8; digits[j] = carry % 58; carry = (carry / 58) | 0; }
      while (carry) { digits.push(carry % 58); carry = (carry / 58) | 0; }
    }
    for (i = 0; i < bytes.length && bytes[i] === 0; i++) out += '1';
    for (j = digits.length - 1; j >= 0; j--) out += ALPHABET[digits[j]];
    return out;
  }
})();
