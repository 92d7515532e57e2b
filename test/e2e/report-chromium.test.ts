// Opens a rendered report in real headless Chromium over file://: it renders, stays offline,
// its own script and styles run under the CSP, and student output cannot run script.
// NETLAB_REPORT_SCREENSHOT=/tmp/report.png also saves a full-page screenshot.
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { samplePcap } from '../../reports/fixtures/pcap-bytes.ts';
import { sampleResult, XSS } from '../../reports/fixtures/sample-result.ts';
import { writeReport } from '../../reports/summary.ts';

const CHROMIUM = process.env.NETLAB_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let browser: Browser;
let dir: string;
let page: Page;
const requests: string[] = [];
const dialogs: string[] = [];
const problems: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium)`);
  dir = await mkdtemp(join(tmpdir(), 'netlab-report-'));
  await writeReport(sampleResult(), dir);
  await mkdir(join(dir, 'captures'), { recursive: true });
  await writeFile(join(dir, 'captures', 'br.pcap'), samplePcap());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  await page.goto(pathToFileURL(join(dir, 'index.html')).href);
});

after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('renders the score, status and lab title', async () => {
  assert.equal((await page.getByTestId('score').textContent())?.replace(/\s+/g, ' ').trim(), '8 / 10');
  assert.equal(await page.getByTestId('status').textContent(), 'Failed');
  assert.match(await page.title(), /^8\/10 · Linux bridge between two namespaces/);
  assert.equal(await page.getByTestId('check').count(), sampleResult().checks.length);
});

test('styles and the report script load under the Content-Security-Policy', async () => {
  const color = await page.locator('.pill.failed').evaluate((el) => getComputedStyle(el).color);
  assert.equal(color, 'rgb(207, 34, 46)');
  await page.getByRole('button', { name: 'Expand all' }).click();
  assert.equal(await page.locator('details.check:not([open])').count(), 0);
  await page.getByRole('button', { name: 'Collapse all' }).click();
  assert.equal(await page.locator('details.check[open]').count(), 0);
  assert.deepEqual(problems, []);
});

test('the failed check expands on click and shows its output as text', async () => {
  const failed = page.locator('[data-testid="check"][data-status="failed"]');
  assert.equal(await failed.count(), 1);
  const notes = failed.getByTestId('stdout').filter({ hasText: 'my notes' });
  assert.equal(await notes.isVisible(), false);
  await failed.locator('summary').click();
  assert.equal(await failed.evaluate((d) => (d as HTMLDetailsElement).open), true);
  assert.equal(await notes.isVisible(), true);
  assert.ok((await notes.textContent())?.includes(XSS), 'the <script> shows as text');
  assert.ok(await failed.getByTestId('hint').isVisible());
  assert.equal(await page.locator('pre script, .check script').count(), 0);
  if (process.env.NETLAB_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.NETLAB_REPORT_SCREENSHOT, fullPage: true });
});

test('student output ran no script, and no request left file://', async () => {
  await page.waitForTimeout(200);
  assert.deepEqual(dialogs, []);
  assert.ok(requests.length > 0);
  for (const url of requests) assert.ok(/^(file|data):/.test(url), `request left the report folder: ${url}`);
});

test('topology SVG and the capture table are there', async () => {
  const svg = page.getByTestId('topology');
  assert.ok(await svg.isVisible());
  assert.equal(await svg.locator('.topo-machine').count(), 3);
  assert.equal(await svg.locator('.topo-link').count(), 2);
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 200 && box.height > 100, `topology is drawn (${JSON.stringify(box)})`);
  const br = page.locator('[data-testid="capture"][data-capture="br"]');
  assert.equal(await br.getByTestId('packet-row').count(), 4);
  const href = await br.getByTestId('pcap-link').evaluate((a) => (a as HTMLAnchorElement).href);
  assert.ok(href.startsWith('file://') && href.endsWith('/captures/br.pcap'), href);
});
