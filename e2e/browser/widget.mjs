// widget.mjs drives the checkout widget on the example shop in Debian's
// Chromium through playwright-core. e2e/widget_test.go runs it: it clicks
// the shop's declarative button, picks USDC in the modal's frame, reports
// the checkout, amount and address on stdout as a JSON line, waits on stdin
// for the Go test to have sent the payment, then waits for the widget's
// paid event and the shop's own confirmation (its webhook). It also checks
// the modal's focus trap, scroll lock and Escape, onPaid of an inline
// Stablegate.open, that forged messages are ignored, and that a foreign
// site cannot frame the hosted page; it fails on any console error of the
// shop, and saves screenshots.
//
// Environment: GATEWAY (its origin), SHOP_URL, FOREIGN_URL (an origin the
// merchant did not allow), OPEN_CHECKOUT (an open checkout's id), and
// harness.mjs's.
import { join } from 'node:path';
import { art, say, hear, fail, problems, watch, launch } from './harness.mjs';

const { GATEWAY: gateway, SHOP_URL: shopURL, FOREIGN_URL: foreign, OPEN_CHECKOUT: openCheckout } = process.env;
const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 800 }, locale: 'en-US' });
  const page = watch(await ctx.newPage());

  await page.goto(shopURL);
  await page.screenshot({ path: join(art, '1-shop.png') });

  // The declarative button opens the modal over the shop.
  await page.click('[data-testid=buy]');
  const overlay = await page.waitForSelector('[data-stablegate=overlay] iframe');
  const frame = await overlay.contentFrame();
  await frame.waitForSelector('[data-testid=method-anvil-USDC]');
  const src = await overlay.getAttribute('src');
  const checkout = (src.match(/\/pay\/(co_[0-9a-z]+)\?embed=1&origin=/) || fail('frame src ' + src))[1];
  if (!src.startsWith(gateway + '/pay/')) fail('the frame is not the gateway\'s: ' + src);

  // Accessibility: the dialog has the focus and keeps it, the page behind
  // does not scroll.
  const inDialog = () => page.evaluate(() => !!document.activeElement.closest('[role=dialog]'));
  if (!(await inDialog())) fail('the dialog does not have the focus');
  if ((await page.evaluate(() => getComputedStyle(document.documentElement).overflow)) !== 'hidden') fail('the page behind still scrolls');
  await page.focus('[data-stablegate=close]');
  await page.keyboard.press('Shift+Tab');
  if (!(await inDialog())) fail('Shift+Tab left the dialog');
  await page.evaluate(() => document.getElementById('buy').focus());
  if (!(await inDialog())) fail('focus moved behind the dialog');
  await page.screenshot({ path: join(art, '2-modal.png') });

  // Pick USDC in the frame.
  await frame.click('[data-testid=method-anvil-USDC]');
  await frame.waitForSelector('[data-testid=amount]');
  const amount = await frame.getAttribute('[data-testid=amount]', 'data-copy');
  const address = await frame.getAttribute('[data-testid=address]', 'data-copy');
  if (!(await frame.isVisible('[data-testid=qr] svg'))) fail('no QR code in the frame');
  await page.screenshot({ path: join(art, '3-pay.png') });
  say({ checkout, amount, address });
  if (await hear() !== 'sent') fail('the test did not send the payment');

  // The widget says paid (a hint); the shop confirms it from its webhook.
  await page.waitForFunction(() => window.shopEvents.includes('paid'), null, { timeout: 60000 });
  await frame.waitForSelector('[data-testid=status][data-state=paid]');
  await page.waitForSelector('[data-testid=order][data-state=paid]', { timeout: 60000 });
  await page.screenshot({ path: join(art, '4-paid.png') });

  // Escape in the frame closes the modal and gives the page back.
  await frame.press('body', 'Escape');
  await page.waitForSelector('[data-stablegate=overlay]', { state: 'detached' });
  if ((await page.evaluate(() => getComputedStyle(document.documentElement).overflow)) === 'hidden') fail('the page stays unscrollable after closing');
  const events = await page.evaluate(() => window.shopEvents.slice());

  // Inline mode: onPaid of Stablegate.open, for the paid checkout.
  const inline = await page.evaluate((id) => new Promise((resolve, reject) => {
    const box = document.createElement('div');
    box.id = 'inline';
    document.getElementById('shop').appendChild(box);
    setTimeout(() => reject(new Error('no onPaid within 20 s')), 20000);
    Stablegate.open({ checkout: id, container: box, onPaid: (m) => resolve({ type: m.type, checkout: m.checkout, version: m.version, frames: box.querySelectorAll('iframe').length }) });
  }), checkout);
  if (inline.type !== 'paid' || inline.checkout !== checkout || inline.version !== 1 || inline.frames !== 1) fail('inline onPaid: ' + JSON.stringify(inline));
  await page.screenshot({ path: join(art, '5-inline.png'), fullPage: true });

  // Forged messages are ignored: from a foreign origin's window, and from
  // the shop's own window. The forger's last message arrives after its
  // forged ones, so once the page has it they were all handled.
  const forged = await page.evaluate(({ id, foreign }) => new Promise((resolve, reject) => {
    const seen = [];
    const h = Stablegate.open({
      checkout: id,
      onPaid: () => seen.push('paid'), onExpired: () => seen.push('expired'), onClose: () => seen.push('close'),
      onEvent: (m) => {
        seen.push('event:' + m.type);
        if (m.type !== 'loaded') return;
        window.postMessage({ source: 'stablegate', version: 1, type: 'paid', checkout: id }, '*');
        // A popup: the shop's CSP would not let a foreign frame in.
        window.open(foreign + '/forge?checkout=' + encodeURIComponent(id), 'forger');
      },
    });
    setTimeout(() => reject(new Error('no message from the forger: ' + seen.join(','))), 20000);
    window.addEventListener('message', (e) => {
      if (!e.data || e.data.source !== 'forge') return;
      const open = !!document.querySelector('[data-stablegate=overlay]');
      const snapshot = seen.slice();
      h.close();
      resolve({ seen: snapshot, open });
    });
  }), { id: openCheckout, foreign });
  if (!forged.open || forged.seen.join(',') !== 'event:loaded') fail('forged messages were believed: ' + JSON.stringify(forged));

  // A site the merchant did not allow cannot frame the hosted page, even
  // claiming the shop's origin.
  const evil = await ctx.newPage();
  for (const origin of [foreign, new URL(shopURL).origin]) {
    const victim = `${gateway}/pay/${openCheckout}?embed=1&origin=${encodeURIComponent(origin)}`;
    const res = await evil.context().request.get(victim);
    const csp = res.headers()['content-security-policy'] || '';
    const want = origin === foreign ? "frame-ancestors 'none'" : 'frame-ancestors ' + origin;
    if (!csp.endsWith(want)) fail(`CSP for origin ${origin}: ${csp}`);
    await evil.goto(`${foreign}/frame?src=${encodeURIComponent(victim)}`);
    const el = await evil.waitForSelector('#victim');
    const f = await el.contentFrame();
    await f.waitForLoadState('load').catch(() => {});
    const rendered = await f.$('[data-testid=status]').then((x) => !!x, () => false);
    if (rendered) fail('a foreign site framed the hosted page with origin=' + origin);
  }
  await evil.screenshot({ path: join(art, '6-foreign.png') });

  if (problems.length) fail(problems.join('\n'));
  say({ done: true, events });
} finally {
  await browser.close();
}
