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

  // the list sorts and filters by severity and service
  await page.selectOption('#sort', 'severity');
  await page.selectOption('#severity-filter', 'critical');
  await page.fill('#service-filter', 'shop');
  await page.dispatchEvent('#service-filter', 'change');
  await page.waitForFunction(() => document.querySelector('#count').textContent === '1 incident', null, { timeout: 10000 });
  check(true, 'filter by severity and service leaves the shop incident');
  await page.fill('#service-filter', 'no-such-service');
  await page.dispatchEvent('#service-filter', 'change');
  await page.waitForFunction(() => document.querySelector('#count').textContent === '0 incidents', null, { timeout: 10000 });
  check(true, 'an unknown service leaves none');
  await page.fill('#service-filter', '');
  await page.dispatchEvent('#service-filter', 'change');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: process.env.SCREENSHOTS + '/overview.png' });

  // open the incident that carries the hostile description
  await page.fill('#search', 'http_5xx');
  await page.locator('#incidents tbody tr').first().click();
  await page.waitForSelector('#members tbody tr', { timeout: 10000 });
  const memberRows = await page.locator('#members tbody tr').count();
  check(memberRows >= 2, `incident page lists ${memberRows} member alerts`);
  const summary = await page.locator('#inc-summary').textContent();
  check(/http_5xx on web-\d .*5 alerts on 5 sources/.test(summary) && summary.includes('service shop'), `a summary sentence: "${summary}"`);
  const why = await page.locator('#members tbody tr td.why').first().textContent();
  check(why.startsWith('Started this incident (the seed)'), `the seed is named as such: "${why}"`);
  const others = await page.locator('#members tbody tr td.why').nth(1).textContent();
  check(others.length > 10 && !others.includes('(reraised)'), `why the others joined, in words: "${others}"`);
  const root = await page.locator('#inc-root').textContent();
  check(root.startsWith('Probable root cause'), `root cause shown: "${root}"`);
  const desc = await page.locator('#members .desc').first().textContent();
  check(desc.includes('<script>'), 'a description holding <script> shows as text');
  check(await page.evaluate(() => window.__xss === undefined), 'and never runs');
  check(await page.locator('#members .desc script, #members .desc img').count() === 0, 'no element was injected');
  // a member that has cleared shows what it was raised with beside what it says now
  const cleared = page.locator('#members tbody tr', { has: page.locator('.cleared') }).first();
  const raisedWith = await cleared.locator('td.raised').textContent();
  const nowText = await cleared.locator('td.now').textContent();
  check(raisedWith.includes('5xx rate high') && raisedWith.includes('critical'), `a cleared member shows what it raised: "${raisedWith}"`);
  check(nowText.includes('cleared') && nowText.includes('normal again'), `beside its current state: "${nowText}"`);
  const meta = await page.locator('#inc-meta').textContent();
  check(meta.startsWith('critical'), `the incident's severity is the worst it reached: "${meta}"`);
  // the timeline names hosts and checks, with dates
  const tl = await page.locator('#timeline li').allTextContents();
  check(tl.some((t) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC web-\d · http_5xx joined/.test(t)), `timeline with date, host · check: "${tl[1]}"`);
  check(!tl.some((t) => t.includes('`')), 'no literal backticks in the timeline');
  // links out: the http(s) ones only
  const hrefs = await page.locator('#inc-links a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  check(hrefs.includes('https://runbooks.example/http-5xx') && hrefs.some((h) => h.startsWith('http://prometheus.example')), `links out: ${hrefs.join(', ')}`);
  check(!hrefs.some((h) => h.startsWith('javascript')), 'a javascript: annotation is not a link');
  // buttons by state
  const visible = async (a) => page.locator(`button[data-action="${a}"]`).isVisible();
  check(await visible('acknowledge') && !(await visible('reopen')), 'an open incident offers acknowledge, not reopen');
  // similar past incidents: the one an hour ago, same root cause
  await page.waitForSelector('#similar table, #similar p', { timeout: 10000 });
  const similar = await page.locator('#similar').textContent();
  check(similar.includes('INC0-1') && similar.includes('same probable root cause') || similar.includes('root cause of the same kind'), 'the similar past incident is listed');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: process.env.SCREENSHOTS + '/incident.png', fullPage: true });

  // usable at 1024 px: nothing wider than the window
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.waitForTimeout(100);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 1024, `the incident page fits 1024 px (${width})`);
  if (process.env.SCREENSHOTS) await page.screenshot({ path: process.env.SCREENSHOTS + '/incident-1024.png' });
  await page.setViewportSize({ width: 1400, height: 1000 });

  // actions need the token: set it, then acknowledge, assign and comment
  await page.fill('#token', token);
  await page.dispatchEvent('#token', 'change');
  await page.click('button[data-action="acknowledge"]');
  await page.waitForFunction(() => document.querySelector('#inc-meta').textContent.includes('acknowledged'), null, { timeout: 10000 });
  check(true, 'acknowledge from the UI');
  check(!(await visible('acknowledge')) && await visible('resolve'), 'once acknowledged: no acknowledge button, resolve offered');
  await page.click('button[data-action="assign"]');
  await page.waitForFunction(() => document.querySelector('#inc-meta').textContent.includes('assigned to bob'), null, { timeout: 10000 });
  check(true, 'assign from the UI');
  await page.click('button[data-action="comment"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => li.textContent.includes('checked from the browser')), null, { timeout: 10000 });
  check(true, 'comment lands in the timeline');
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

  // what was learned: a pod's node label names the node's source — the learned topology
  const t0 = Date.now();
  const named = [
    { source: 'node-6-3', check: 'node_not_ready', severity: 'critical', description: 'Kubelet stopped posting node status', time: t0 },
    { source: 'cart-6-c9f26', check: 'crash_loop', severity: 'major', service: 'cart-6', labels: { node: 'node-6-3' }, description: 'CrashLoopBackOff', time: t0 + 5 },
  ].map((e) => JSON.stringify(e)).join('\n');
  const posted = await fetch(base + '/api/v1/events', { method: 'POST', body: named, headers: { authorization: 'Bearer ' + token } });
  check(posted.status === 202, 'posted a pod naming its node');
  await page.click('#nav-learned');
  await page.waitForFunction(() => [...document.querySelectorAll('#learned-edges tbody tr')].some((tr) => tr.textContent.includes('cart-6-c9f26') && tr.textContent.includes('node-6-3') && tr.textContent.includes('labels.node')), null, { timeout: 10000 });
  check(true, 'the learned topology shows the pod naming its node');
  const keyRows = await page.locator('#learned-keys tbody tr').count();
  check(keyRows >= 1, `learned attribute keys listed (${keyRows})`);
  if (process.env.SCREENSHOTS) await page.screenshot({ path: process.env.SCREENSHOTS + '/learned.png', fullPage: true });
  check(errors.length === 0, 'no script errors: ' + errors.join('; '));
} catch (e) {
  console.error('FAIL ' + e.message);
  process.exit(1);
} finally {
  await browser.close();
}
