// dashboard_browser.mjs URL DIR: drives the dashboard in Debian's headless chromium with
// puppeteer-core (tests/npm) for test_dashboard.sh. Loads URL, waits for a refresh drawn
// and writes what the page shows to DIR/page1.json; then waits for DIR/go (the test has
// moved the campaign meanwhile), for two refreshes more, writes DIR/page2.json and a
// screenshot DIR/dashboard.png. Every request the page made and every console error or
// CSP violation go into the JSON files too, for the test to judge. Exit 0, or 1 with the
// reason on stderr. Bounded: 60 s in all.
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.OTA_NPM + '/');
const puppeteer = require('puppeteer-core');
const [url, dir] = process.argv.slice(2);
const deadline = Date.now() + 60000;
const requests = [];
const errors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function refreshes(page) {
  return page.evaluate(() => Number(document.body.dataset.refreshes || 0));
}

async function waitRefreshes(page, n) {
  while ((await refreshes(page)) < n) {
    if (Date.now() > deadline) throw new Error(`no refresh number ${n} within 60 s`);
    await sleep(50);
  }
}

// What the page shows, read from the DOM as a person would see it.
async function read(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent ?? null;
    const counts = {};
    for (const e of document.querySelectorAll('[id^="count-"]')) counts[e.id.slice(6)] = Number(e.textContent);
    return {
      campaign: Number(text('campaign-id')), state: text('campaign-state'),
      deployments: Number(text('deployments')), counts,
      failures: [...document.querySelectorAll('#failures tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
      stages: [...document.querySelectorAll('#stages tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
      campaigns: [...document.querySelectorAll('#campaigns tbody tr')].map((tr) => tr.dataset.id),
      fleet_total: Number(text('fleet-total')),
      versions: [...document.querySelectorAll('#versions tr')].map((tr) => [tr.dataset.version, Number(tr.cells[1].textContent)]),
      bytes_served: Number(document.getElementById('bytes-served').dataset.bytes),
      chart_points: document.querySelectorAll('#chart polyline').length,
      status: text('status'),
    };
  });
}

const browser = await puppeteer.launch({
  executablePath: process.env.OTA_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  dumpio: process.env.OTA_BROWSER_DEBUG === '1',
  // root in the test machine: chromium's sandbox needs a user namespace it may not have
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
let status = 0;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  await waitRefreshes(page, 1);
  writeFileSync(dir + '/page1.json', JSON.stringify({ page: await read(page), requests, errors }));
  while (!existsSync(dir + '/go')) {
    if (Date.now() > deadline) throw new Error('the test did not say go within 60 s');
    await sleep(50);
  }
  await waitRefreshes(page, (await refreshes(page)) + 2);
  writeFileSync(dir + '/page2.json', JSON.stringify({ page: await read(page), requests, errors }));
  await page.screenshot({ path: dir + '/dashboard.png', fullPage: true });
} catch (e) {
  console.error('dashboard_browser.mjs: ' + e.message);
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
