// harness.mjs is what the browser scripts share: Chromium through
// playwright-core (PLAYWRIGHT, CHROMIUM), the screenshot folder
// (ARTIFACTS), JSON-line talk with the Go test on stdout and stdin, and a
// watch on pages for console errors, page errors and failed responses.
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';

const { chromium } = await import(process.env.PLAYWRIGHT);

export const art = process.env.ARTIFACTS;
mkdirSync(art, { recursive: true });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// say reports one JSON line to the test.
export const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// hear returns the test's next line, or undefined once it has hung up.
export const hear = async () => {
  const l = await lines.next();
  return l.done ? undefined : l.value.trim();
};

export const fail = (msg) => { throw new Error(msg); };

// problems collects what watched pages did wrong.
export const problems = [];

// watch records a page's console errors, page errors and 4xx/5xx answers.
export const watch = (page) => {
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  return page;
};

// launch starts Chromium as this machine allows it: headless, no sandbox,
// and no background traffic to the outside.
export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
