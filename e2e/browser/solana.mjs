// solana.mjs pays a checkout's Solana method through the hosted page with a
// browser wallet, in Debian's Chromium through playwright-core.
// e2e/solana_browser_test.go runs it.
//
// First without any wallet: the "pay with wallet" button stays hidden and
// the QR code's Solana Pay link carries the checkout's reference key; it
// reports that link. Then with a test Wallet Standard wallet registered
// before the page loads: its signAndSendTransaction hands the transaction
// to this script, which checks it, signs it with the customer's key (an
// ed25519 seed from the Go test) and sends it to the Solana RPC node. The
// customer clicks the button; the script reports the transaction's
// signature, waits on stdin for the test to have checked it on the node
// ("confirmed", or "unwatched" when nothing will settle it), then watches
// the page turn paid. It fails on any console error and saves screenshots.
//
// Environment: PAY_URL, RPC_URL, WALLET_SEED (hex), WALLET_ADDRESS
// (base58), WALLET_CHAIN (a Wallet Standard chain id), and harness.mjs's.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { join } from 'node:path';
import { art, say, hear, fail, problems, watch, launch } from './harness.mjs';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const base58 = (bytes) => {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out; }
  return out;
};

// The customer's key: an ed25519 seed in a PKCS #8 envelope.
const seed = Buffer.from(process.env.WALLET_SEED, 'hex');
if (seed.length !== 32) fail('WALLET_SEED is not 32 bytes of hex');
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
const address = process.env.WALLET_ADDRESS, chain = process.env.WALLET_CHAIN;
if (base58(pub) !== address) fail(`WALLET_SEED is the key of ${base58(pub)}, not ${address}`);

const rpc = async (method, params) => {
  const r = await fetch(process.env.RPC_URL, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const b = await r.json();
  if (b.error) throw new Error(`${method}: ${JSON.stringify(b.error)}`);
  return b.result;
};

// signAndSend is the wallet's signer: it checks that the transaction has
// one empty signature slot and the customer's key as fee payer, signs the
// message and sends the transaction. It returns the signature in base64.
const sent = [];
const signAndSend = async (b64) => {
  const wire = Buffer.from(b64, 'base64');
  if (wire[0] !== 1 || !wire.subarray(1, 65).equals(Buffer.alloc(64))) fail('the transaction does not have one empty signature slot');
  const message = wire.subarray(65);
  // Legacy message: 3 header bytes, the compact-u16 key count, then the
  // keys, the fee payer first.
  if (message[0] !== 1 || message[3] >= 0x80 || !message.subarray(4, 36).equals(pub)) fail('the fee payer is not the customer');
  const sig = sign(null, message, key);
  const signed = Buffer.concat([wire.subarray(0, 1), sig, message]);
  const signature = await rpc('sendTransaction', [signed.toString('base64'), { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  if (signature !== base58(sig)) fail(`the node named the transaction ${signature}, not ${base58(sig)}`);
  sent.push(signature);
  return sig.toString('base64');
};

const browser = await launch();
try {
  // Without a wallet the page offers the QR code and the link only.
  const plain = await browser.newContext({ viewport: { width: 375, height: 812 }, locale: 'en-US' });
  const bare = watch(await plain.newPage());
  await bare.goto(process.env.PAY_URL);
  await bare.waitForSelector('[data-testid=copy-amount]:not([hidden])'); // pay.js has run
  if (await bare.isVisible('[data-testid=wallet-pay]')) fail('the wallet button shows without a wallet');
  if (!(await bare.isVisible('[data-testid=qr] svg'))) fail('no QR code');
  const uri = await bare.getAttribute('#open-wallet', 'href');
  if (!/^solana:/.test(uri) || !/[?&]reference=/.test(uri)) fail('the wallet link is ' + uri);
  await bare.screenshot({ path: join(art, '1-no-wallet.png'), fullPage: true });
  say({ uri });

  // A Wallet Standard wallet, registered as @wallet-standard/wallet's
  // registerWallet does, before the page's script runs.
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, locale: 'en-US' });
  await ctx.exposeBinding('stablegateTestSign', (_source, b64) => signAndSend(b64));
  await ctx.addInitScript(({ address, pub, chain }) => {
    const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const account = Object.freeze({
      address, publicKey: new Uint8Array(pub), chains: [chain],
      features: ['solana:signAndSendTransaction'],
    });
    const wallet = {
      version: '1.0.0', name: 'Stablegate Test Wallet', chains: [chain], accounts: [],
      icon: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=',
      features: {
        'standard:connect': { version: '1.0.0', connect: async () => { wallet.accounts = [account]; return { accounts: wallet.accounts }; } },
        'standard:events': { version: '1.0.0', on: () => () => {} },
        'solana:signAndSendTransaction': {
          version: '1.0.0', supportedTransactionVersions: ['legacy', 0],
          signAndSendTransaction: async (...inputs) => {
            const out = [];
            for (const input of inputs) {
              if (input.account !== account || input.chain !== chain || !(input.transaction instanceof Uint8Array)) {
                throw new Error('signAndSendTransaction got ' + JSON.stringify({ account: input.account && input.account.address, chain: input.chain }));
              }
              let bin = '';
              for (const b of input.transaction) bin += String.fromCharCode(b);
              out.push({ signature: fromB64(await window.stablegateTestSign(btoa(bin))) });
            }
            return out;
          },
        },
      },
    };
    const callback = ({ register }) => register(wallet);
    try { window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: callback })); } catch (e) { /* no app yet */ }
    window.addEventListener('wallet-standard:app-ready', ({ detail: api }) => callback(api));
  }, { address, pub: [...pub], chain });
  const page = watch(await ctx.newPage());
  await page.goto(process.env.PAY_URL);
  await page.waitForSelector('[data-testid=wallet-pay]:not([hidden])', { timeout: 10000 });
  await page.screenshot({ path: join(art, '2-wallet.png'), fullPage: true });
  await page.click('[data-testid=wallet-pay]');
  await page.waitForFunction(() => document.getElementById('wallet-msg').textContent.includes('Transaction sent'), null, { timeout: 30000 });
  if (sent.length !== 1) fail(`the wallet sent ${sent.length} transactions, want 1`);
  if (!(await page.isDisabled('[data-testid=wallet-pay]'))) fail('the button can pay again after sending');
  say({ signature: sent[0] });

  const next = await hear();
  if (next === 'confirmed') {
    await page.waitForSelector('[data-testid=status][data-state=paid]', { timeout: 60000 });
    await page.waitForSelector('[data-testid=receipt]:not([hidden])');
    const tx = (await page.textContent('[data-testid=tx-link]')).trim();
    if (!tx || !sent[0].startsWith(tx.split('\u2026')[0])) fail(`the receipt names ${tx}, the payment was ${sent[0]}`);
    await page.screenshot({ path: join(art, '3-paid.png'), fullPage: true });
  } else if (next !== 'unwatched') {
    fail('the test said ' + JSON.stringify(next));
  }
  if (problems.length) fail(problems.join('\n'));
  say({ done: true });
} finally {
  await browser.close();
}
