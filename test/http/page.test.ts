// The status page in a real browser: Debian's chromium, headless, driven by puppeteer-core (no
// browser download). The page must load without console errors, show a client while it is
// connected, move its rate chart while messages flow, and switch a GPIO output (the pin changes
// and its state is published). A phone-sized screenshot is kept in dist/test-artifacts/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startServer, type Running } from '../../src/server.ts';
import { FakeDriver } from '../gpio/fake-pin.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../dist/test-artifacts');

if (process.env.CI === 'true' && !existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (Debian package chromium; .ci/run installs it)`);

describe.skipIf(!existsSync(CHROMIUM))('status page in headless chromium', () => {
  const driver = new FakeDriver();
  let running: Running;
  let mqttPort: number;
  let httpPort: number;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const clients: MqttClient[] = [];
  const connect = async (clientId: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  const text = (sel: string): Promise<string> => page.$eval(sel, (e) => e.textContent ?? '');
  /** A page-side expression (the test's tsconfig has no DOM types): the clients table names `id`. */
  const shows = (id: string): string => `document.getElementById('clients').textContent.includes(${JSON.stringify(id)})`;

  beforeAll(async () => {
    const cfg = parseConfigText('listener 0 127.0.0.1\nlistener 0 127.0.0.1\nprotocol http\nallow_anonymous true\ngpio 5 out topic=relay\ngpio 6 in topic=door\n', 'page.conf');
    running = await startServer({ ...cfg, sysInterval: 0, gpioDriver: driver });
    [mqttPort, httpPort] = running.addresses.map((a) => a.port);
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless=new', '--no-sandbox'] });
    page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    // Poll every 250 ms instead of 2 s, so the test does not wait.
    const res = await page.goto(`http://127.0.0.1:${httpPort}/?every=250`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    await page.waitForFunction(`document.getElementById('ver').textContent.startsWith('v')`, { timeout: 10_000 });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await browser?.close();
    await running?.close();
  });

  it('loads without console errors and shows the broker summary and the GPIO pins', async () => {
    expect(await text('#sum')).toContain('clients');
    expect(await text('#gpio')).toContain('relay');
    expect(await text('#gpio')).toContain('door');
    expect(await text('#bridges')).toBe('none');
    expect(problems).toEqual([]);
  });

  it('shows a client that connects, with its protocol, and drops it when it leaves', async () => {
    const c = await connect('kitchen-sensor');
    await page.waitForFunction(shows('kitchen-sensor'), { timeout: 10_000 });
    expect(await text('#clients')).toContain('MQTT 3.1.1');
    await c.endAsync();
    await page.waitForFunction(`!${shows('kitchen-sensor')}`, { timeout: 10_000 });
  });

  it('the rate chart moves while messages flow', async () => {
    const pub = await connect('flow');
    const points = (): Promise<string> => page.$eval('#rin', (e) => e.getAttribute('points') ?? '');
    const before = await points();
    // Up to 5 s of 40 messages every 50 ms, until the newest point of the in-line is off the floor.
    const rising = (p: string): boolean => {
      const last = p.trim().split(' ').at(-1);
      return last !== undefined && last.includes(',') && Number(last.split(',')[1]) < 80;
    };
    let now = before;
    for (let i = 0; i < 100 && !rising(now); i++) {
      for (let j = 0; j < 40; j++) pub.publish('load', 'x');
      await new Promise((r) => setTimeout(r, 50));
      now = await points();
    }
    expect(rising(now), `points: ${now}`).toBe(true);
    expect(now).not.toBe(before);
    expect(await text('#rate')).toMatch(/^in \d+\.\d · out /);
  });

  it('a GPIO output switch changes the pin and the published state', async () => {
    const w = await connect('watcher');
    await w.subscribeAsync('relay');
    const published = new Promise<string>((r) => w.once('message', (_t, p) => r(p.toString())));
    // The new client's row must be in before the click: it moves the switch down the page.
    await page.waitForFunction(shows('watcher'), { timeout: 10_000 });
    await page.click('input[data-pin="5"]');
    expect(await published).toBe('1');
    expect(driver.pin(5).level).toBe(1);
    // The page reads the new level back.
    await page.waitForFunction(`document.querySelector('input[data-pin="5"]')?.checked === true`, { timeout: 10_000 });
  });

  it('fits a phone screen; a screenshot is kept', async () => {
    const c = await connect('living-room');
    await page.waitForFunction(shows('living-room'), { timeout: 10_000 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png') as `${string}.png`, fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'status-page.png'))).toBe(true);
    await c.endAsync();
    expect(problems).toEqual([]);
  });
});
