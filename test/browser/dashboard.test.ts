/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core
 * (never a downloaded browser) against a real server over SQLite. Screenshots
 * of each main page go to .tmp/screenshots/ (gitignored).
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobEvent } from '../../src/contracts/events.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { waitFor } from '../helpers/wait-for.js';

// page.evaluate and waitForFunction bodies run in the browser.
declare const document: any;
declare const window: any;

export const CHROMIUM = process.env.JOBQ_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = new URL('../../../.tmp/screenshots/', import.meta.url).pathname;
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: install Debian's chromium (.ci/run does)`;

describe('dashboard in chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let failing = true;
  const gates: (() => void)[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer({
      handlers: {
        // Runs until the test opens its gate.
        slow: () => new Promise<void>((resolve) => gates.push(resolve)),
        flaky: async () => {
          if (failing) throw new Error('upstream refused the connection (ECONNREFUSED 10.0.0.7:443)');
          return { delivered: true };
        },
        email: async (job) => ({ sent: (job.payload as { to?: string } | null)?.to ?? null }),
      },
      jobq: { queues: { default: { concurrency: 50 }, mail: { concurrency: 5 }, bulk: { concurrency: 5 } } },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });

  after(async () => {
    for (const open of gates.splice(0)) open();
    await browser?.close();
    await server?.close();
  });

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  const card = (status: string) => page.locator(`.card[data-status="${status}"] .n`);
  const num = async (status: string) => Number((await card(status).textContent())!.replace(/,/g, ''));

  it('loads the overview, and its counts follow jobs as they run', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('#live.on').waitFor();
    assert.equal(await page.title(), 'jobq');
    assert.equal(await num('processing'), 0);
    await server.jobq.enqueueMany(Array.from({ length: 12 }, () => ({ type: 'slow' })));
    // Nothing reloads the page: the counts change because the stream says something happened.
    await page.waitForFunction(() => document.querySelector('.card[data-status="processing"] .n')?.textContent === '12', null, { timeout: 15_000 });
    await server.jobq.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ type: 'email', queue: 'mail', payload: { to: `u${i}@example.com` } })));
    for (const open of gates.splice(0)) open();
    await page.waitForFunction(() => Number(document.querySelector('.card[data-status="completed"] .n')?.textContent?.replace(/,/g, '')) === 42, null, { timeout: 15_000 });
    assert.equal(await num('processing'), 0);
    await page.locator('svg[aria-label^="Throughput"] rect').first().waitFor();
    await shot('overview');
  });

  it("retries a failed job from its page and sees it complete, with every attempt's error and stack", async () => {
    failing = true;
    const job = await server.jobq.enqueue({ type: 'flaky', maxAttempts: 2, payload: { order: 1042, items: ['tea', 'scones'] } });
    const failed = await server.jobq.waitFor(job.id, { timeoutMs: 20_000 });
    assert.equal(failed.status, 'failed');
    await page.goto(`${server.url}/#/jobs/${job.id}`);
    await page.locator('h1 .badge.s-failed').waitFor();
    assert.equal(await page.locator('.attempt').count(), 2);
    assert.match((await page.locator('.attempt pre').first().textContent())!, /Error: upstream refused/);
    assert.match((await page.locator('pre').first().textContent())!, /"order": 1042/);
    await shot('job-failed');
    failing = false;
    await page.click('#retry');
    assert.match((await page.locator('#confirm-text').textContent())!, /Retry this job/);
    await shot('confirm');
    await page.click('#confirm-ok');
    // The job's own stream re-renders the page: retried → started → completed.
    await page.locator('h1 .badge.s-completed').waitFor({ timeout: 15_000 });
    assert.match((await page.locator('.panel pre').nth(1).textContent())!, /"delivered": true/);
    assert.equal((await server.jobq.get(job.id))?.status, 'completed');
  });

  it('pauses a queue from the queues page, and no node claims from it until it is resumed', async () => {
    await server.jobq.waitFor((await server.jobq.enqueue({ type: 'email', queue: 'mail' })).id);
    await page.goto(`${server.url}/#/queues`);
    const row = page.locator('tr[data-queue="mail"]');
    await row.waitFor();
    await row.locator('button[data-act="pause"]').click();
    await page.click('#confirm-ok');
    await row.locator('.badge.s-paused').waitFor();
    const started: JobEvent[] = [];
    const sub = server.jobq.events.subscribe((e) => started.push(e), { filter: { kinds: ['started'] }, cluster: false });
    try {
      const held = await server.jobq.enqueueMany(Array.from({ length: 5 }, () => ({ type: 'email', queue: 'mail' })));
      // A control job on another queue runs to completion: the workers are alive, they just leave "mail" alone.
      const control = await server.jobq.enqueue({ type: 'email' });
      await server.jobq.waitFor(control.id, { timeoutMs: 10_000 });
      await page.waitForFunction(() => document.querySelector('tr[data-queue="mail"] td:nth-child(3)')?.textContent === '5', null, { timeout: 10_000 });
      await shot('queues');
      assert.deepEqual(started.filter((e) => e.queue === 'mail'), []);
      for (const j of held) assert.equal((await server.jobq.get(j.id))?.status, 'pending');
      await row.locator('button[data-act="resume"]').click();
      await page.click('#confirm-ok');
      await row.locator('.badge.s-active').waitFor();
      await waitFor(async () => (await Promise.all(held.map((j) => server.jobq.get(j.id)))).every((j) => j?.status === 'completed'), { what: 'the held jobs to run after resume' });
      assert.equal(started.filter((e) => e.queue === 'mail').length, 5);
    } finally {
      sub.unsubscribe();
    }
  });

  it('renders a page of 500 jobs in under 100 ms, and filters by status, queue, key, type and time on the server', async () => {
    await server.jobq.queues.pause('bulk');
    for (let i = 0; i < 5; i++) await server.jobq.enqueueMany(Array.from({ length: 100 }, (_, k) => ({ type: 'email', queue: 'bulk', key: `order-${i * 100 + k}`, payload: { i: i * 100 + k } })));
    await page.goto(`${server.url}/#/jobs?queue=bulk&status=pending&limit=500`);
    await page.locator('#jobs tbody tr').nth(499).waitFor();
    assert.equal(await page.locator('#jobs tbody tr').count(), 500);
    const renderMs = await page.evaluate(() => window.jobqDebug.lastRenderMs as number);
    process.stdout.write(`# 500-job page rendered in ${renderMs.toFixed(1)} ms\n`);
    assert.ok(renderMs < 100, `500 rows took ${renderMs} ms`);
    await shot('jobs');
    // Key, type and time go to the server: the key is exact (order-42, not order-420…).
    const listed: string[] = [];
    const onRequest = (r: { url(): string }) => r.url().includes('/v1/jobs?') && listed.push(r.url());
    page.on('request', onRequest);
    await page.fill('input[name="key"]', 'order-42');
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#shown')?.textContent.startsWith('1 shown'));
    assert.equal(await page.locator('#jobs tbody tr').count(), 1);
    assert.match(listed.at(-1)!, /[?&]key=order-42(&|$)/);
    await page.fill('input[name="key"]', '');
    await page.fill('input[name="type"]', 'sms');
    await page.selectOption('select[name="since"]', '5');
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#shown')?.textContent.startsWith('0 shown'));
    const url = new URL(listed.at(-1)!);
    assert.equal(url.searchParams.get('type'), 'sms');
    assert.ok(Math.abs(Date.parse(url.searchParams.get('createdAfter')!) - (Date.now() - 5 * 60_000)) < 60_000, url.search);
    page.off('request', onRequest);
    await server.jobq.queues.resume('bulk');
  });

  it('lists schedules with their next and last run', async () => {
    await server.jobq.schedules.upsert({ name: 'nightly-report', cron: '0 3 * * *', tz: 'Europe/Paris', job: { type: 'email', queue: 'mail' } });
    await server.jobq.schedules.upsert({ name: 'sync-every-minute', cron: '* * * * *', job: { type: 'email' } });
    await page.goto(`${server.url}/#/schedules`);
    await page.locator('#schedules tbody tr').nth(1).waitFor();
    assert.match((await page.locator('#schedules tbody tr').first().textContent())!, /nightly-report.*0 3 \* \* \*.*Europe\/Paris/);
    await shot('schedules');
  });

  it('is usable on a phone and in dark mode', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
    try {
      await phone.goto(`${server.url}/#/queues`);
      await phone.locator('#queues tbody tr').first().waitFor();
      assert.equal(await phone.evaluate(() => document.documentElement.dataset.theme), 'dark');
      // Nothing wider than the screen but the table, which scrolls in its own box.
      assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
      await phone.screenshot({ path: `${SHOTS}queues-phone-dark.png`, fullPage: true });
      await phone.goto(`${server.url}/`);
      await phone.locator('.card').first().waitFor();
      await phone.screenshot({ path: `${SHOTS}overview-phone-dark.png`, fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('first load is under 150 KB compressed and fetches nothing from elsewhere', async () => {
    const fresh = await browser.newPage();
    const urls: string[] = [];
    fresh.on('request', (r) => urls.push(r.url()));
    try {
      await fresh.goto(`${server.url}/`);
      await fresh.locator('.card').first().waitFor();
      assert.deepEqual(urls.filter((u) => !u.startsWith(server.url)), []);
    } finally {
      await fresh.close();
    }
    let total = 0;
    for (const path of ['/', '/dashboard/app.js', '/dashboard/app.css']) {
      const res = await fetch(server.url + path, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.status, 200);
      total += Number(res.headers.get('content-length') ?? (await res.arrayBuffer()).byteLength);
    }
    process.stdout.write(`# first load: ${total} bytes gzip\n`);
    assert.ok(total < 150 * 1024, `first load ${total} bytes`);
  });

  it('asks for a token when the server needs one, and works once given', async (t) => {
    const secret = `jobq_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`;
    await server.jobq.store.tokenInsert({
      id: randomUUID(),
      name: `dash-${randomUUID().slice(0, 8)}`,
      hash: createHash('sha256').update(secret).digest('hex'),
      scopes: ['jobs:read', 'jobs:write'],
      queues: null,
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    });
    // Tokens are issue #13's: until its auth layer is in this tree, a server with tokens still answers without one.
    const locked = await waitFor(async () => (await fetch(`${server.url}/v1/queues`)).status === 401 || null, { timeoutMs: 3000 }).catch(() => false);
    if (!locked) return t.skip('this server does not check tokens yet (the auth layer of issue #13 is not in this tree)');
    const fresh = await browser.newPage();
    try {
      await fresh.goto(`${server.url}/#/queues`);
      await fresh.locator('#login[open]').waitFor();
      await fresh.screenshot({ path: `${SHOTS}login.png` });
      await fresh.fill('#token', 'jobq_wrong-token-wrong-token-wrong');
      await fresh.click('#login button[type="submit"]');
      await fresh.locator('#login-error:not([hidden])').waitFor();
      await fresh.fill('#token', secret);
      await fresh.click('#login button[type="submit"]');
      await fresh.locator('#queues tbody tr').first().waitFor();
      await fresh.locator('#live.on').waitFor();
    } finally {
      await fresh.close();
    }
  });
});
