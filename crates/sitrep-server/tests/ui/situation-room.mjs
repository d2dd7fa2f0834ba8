// Drives the situation room in headless Chromium. Usage: node situation-room.mjs BASE_URL TOKEN
// Prints one line per check; exits non-zero on the first failure.
import { chromium } from 'playwright-core';

const [base, token] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
page.on('dialog', async (d) => d.accept(d.message().startsWith('Comment') ? 'checked from the browser' : 'bob'));
const check = (ok, what) => {
  if (!ok) { console.error('FAIL ' + what); process.exit(1); }
  console.log('ok ' + what);
};

try {
  await page.goto(base + '/');
  await page.waitForSelector('#conn.on', { timeout: 10000 });
  check(true, 'live feed connected');
  await page.waitForSelector('#incidents tbody tr', { timeout: 10000 });
  const rows = await page.locator('#incidents tbody tr').count();
  check(rows >= 1, `incident list shows ${rows} incident(s)`);

  // live: a new incident appears without reloading
  const before = await page.locator('#incidents tbody tr').count();
  const now = Date.now();
  const burst = [0, 1, 2, 3].map((i) => JSON.stringify({ source: `cache-${i}`, check: 'evictions', severity: 'major', service: 'cache', description: 'eviction storm', time: now + i })).join('\n');
  const r = await fetch(base + '/api/v1/events', { method: 'POST', body: burst, headers: { authorization: 'Bearer ' + token } });
  check(r.status === 202, 'posted a new burst');
  await page.waitForFunction((n) => document.querySelectorAll('#incidents tbody tr').length > n, before, { timeout: 10000 });
  check(true, 'the new incident appeared live (SSE)');

  // the overview charts are drawn
  await page.waitForFunction(() => document.querySelector('#events').textContent !== '–', null, { timeout: 10000 });
  check(true, 'overview counters filled from stats');
  // the overview's open-incident count is the API's: open + acknowledged, from state
  const stats = await (await fetch(base + '/api/v1/stats', { headers: { authorization: 'Bearer ' + token } })).json();
  const open = stats.engine.incidents_active;
  await page.waitForFunction((n) => document.querySelector('#open').textContent === String(n), open, { timeout: 10000 });
  check(true, `overview shows ${open} open incidents, as the API counts them`);
  const apart = await page.locator('#resolved').textContent();
  check(/\d+ resolved · \d+ closed/.test(apart), `resolved and closed shown apart: "${apart}"`);

  // open the incident that carries the hostile description
  await page.fill('#search', 'http_5xx');
  await page.locator('#incidents tbody tr').first().click();
  await page.waitForSelector('#members tbody tr', { timeout: 10000 });
  const memberRows = await page.locator('#members tbody tr').count();
  check(memberRows >= 2, `incident page lists ${memberRows} member alerts`);
  const why = await page.locator('#members tbody tr td.why').first().textContent();
  check(why.length > 0, `each member says why it joined: "${why}"`);
  const root = await page.locator('#inc-root').textContent();
  check(root.startsWith('Probable root cause'), `root cause shown: "${root}"`);
  const desc = await page.locator('#members td.desc').first().textContent();
  check(desc.includes('<script>'), 'a description holding <script> shows as text');
  check(await page.evaluate(() => window.__xss === undefined), 'and never runs');
  check(await page.locator('#members td.desc script, #members td.desc img').count() === 0, 'no element was injected');

  // actions need the token: set it, then acknowledge, assign and comment
  await page.fill('#token', token);
  await page.dispatchEvent('#token', 'change');
  await page.click('button[data-action="acknowledge"]');
  await page.waitForFunction(() => document.querySelector('#inc-meta').textContent.includes('acknowledged'), null, { timeout: 10000 });
  check(true, 'acknowledge from the UI');
  await page.click('button[data-action="assign"]');
  await page.waitForFunction(() => document.querySelector('#inc-meta').textContent.includes('assigned to bob'), null, { timeout: 10000 });
  check(true, 'assign from the UI');
  await page.click('button[data-action="comment"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => li.textContent.includes('checked from the browser')), null, { timeout: 10000 });
  check(true, 'comment lands in the timeline');
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  check(errors.length === 0, 'no script errors: ' + errors.join('; '));
} catch (e) {
  console.error('FAIL ' + e.message);
  process.exit(1);
} finally {
  await browser.close();
}
