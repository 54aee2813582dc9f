// pay.mjs drives the hosted payment page in Debian's Chromium through
// playwright-core. e2e/browser_test.go runs it: it opens a payment link,
// picks a network, reports the amount and address it reads from the page
// on stdout as a JSON line, waits on stdin for the Go test to have sent the
// payment, then watches the page turn paid and redirect to the merchant.
// It also checks the countdown, the language switch and a 375 px wide
// viewport, fails on any console error, and saves screenshots.
//
// Environment: LINK_URL, SUCCESS_URL, and harness.mjs's.
import { join } from 'node:path';
import { art, say, hear, fail, problems, watch, launch } from './harness.mjs';

const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, locale: 'en-US' });
  const page = watch(await ctx.newPage());

  // A fresh checkout per visit, then its hosted page.
  await page.goto(process.env.LINK_URL);
  if (!/\/pay\/co_/.test(page.url())) fail('the link did not land on a hosted page: ' + page.url());
  const checkout = page.url().match(/\/pay\/(co_[0-9a-z]+)/)[1];
  await page.screenshot({ path: join(art, '1-pick.png'), fullPage: true });

  // The countdown shows and runs.
  const c1 = (await page.textContent('[data-testid=countdown] time')).trim();
  if (!/\d+:\d\d/.test(c1)) fail('countdown shows ' + JSON.stringify(c1));
  await page.waitForFunction((c) => document.querySelector('[data-testid=countdown] time').textContent.trim() !== c, c1, { timeout: 5000 });

  // Pick USDC on the test chain.
  await page.click('[data-testid=method-anvil-USDC]');
  await page.waitForSelector('[data-testid=amount]');
  const amount = await page.getAttribute('[data-testid=amount]', 'data-copy');
  const address = await page.getAttribute('[data-testid=address]', 'data-copy');
  const shown = (await page.textContent('[data-testid=amount]')).trim();
  if (shown !== amount) fail(`amount shows ${shown}, copies ${amount}`);
  if (!(await page.isVisible('[data-testid=qr] svg'))) fail('no QR code');
  if (!(await page.isVisible('[data-testid=warning]'))) fail('no warning');
  if (await page.isVisible('[data-testid=wallet-pay]')) fail('the wallet button shows without an injected wallet');
  await page.screenshot({ path: join(art, '2-pay.png'), fullPage: true });

  // Nothing overflows the phone-wide viewport.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) fail('page is ' + width + ' px wide at a 375 px viewport');

  say({ checkout, amount, address });
  if (await hear() !== 'sent') fail('the test did not send the payment');

  // Live status goes to paid, the receipt links the transaction, and the
  // page sends the customer back to the merchant.
  await page.waitForSelector('[data-testid=status][data-state=paid]', { timeout: 60000 });
  await page.waitForSelector('[data-testid=receipt]:not([hidden])');
  const tx = (await page.textContent('[data-testid=tx-link]')).trim();
  if (!tx) fail('the receipt names no transaction');
  await page.screenshot({ path: join(art, '3-paid.png'), fullPage: true });
  await page.waitForURL(process.env.SUCCESS_URL + '**', { timeout: 15000 });

  // Language switch: the same page in Japanese, then Simplified Chinese.
  const zh = watch(await ctx.newPage());
  await zh.goto(process.env.LINK_URL.replace(/\/l\/.*/, '/pay/' + checkout));
  for (const lang of ['ja', 'zh-CN']) {
    await zh.click(`[data-testid=lang-switch] a[lang=${lang}]`);
    await zh.waitForFunction((l) => document.documentElement.lang === l, lang);
    if (!/[\u3040-\u30ff\u4e00-\u9fff]/.test(await zh.textContent('main'))) fail('no ' + lang + ' text after the switch');
    await zh.screenshot({ path: join(art, `4-${lang}.png`), fullPage: true });
  }
  if (problems.length) fail(problems.join('\n'));
  say({ done: true, tx });
} finally {
  await browser.close();
}
