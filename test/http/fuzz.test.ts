// Hostile input on an HTTP listener, bounded: a seeded stream of broken request lines, headers and
// bodies over raw sockets, and slow (slowloris) clients. Every answer must be a well-formed 4xx (or
// a 200 for what happens to be valid), never a 5xx or a crash, and MQTT must keep serving
// throughout: a publish/subscribe round trip after every batch.
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startServer, type Running } from '../../src/server.ts';
import { FakeDriver } from '../gpio/fake-pin.ts';
import { ask } from './client.ts';

/** Mulberry32: the same cases on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sends raw bytes; resolves with what came back before the server closed or `ms` passed. */
function raw(port: number, data: Buffer, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const got: Buffer[] = [];
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(Buffer.concat(got).toString('latin1'));
    };
    const t = setTimeout(done, ms);
    s.on('data', (c) => got.push(c));
    s.on('close', done);
    s.on('error', done);
    s.end(data);
  });
}

const PATHS = ['/', '/metrics', '/api/v1/broker', '/api/v1/clients?limit=5', '/api/v1/retained?offset=x', '/api/v1/gpio/5', '/api/v1/clients/a/disconnect', '/api/v1/%', '/../../etc/passwd', '*'];
const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'BREW', 'G\x00T', ''];

function junk(r: () => number, n: number, alphabet?: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet ? alphabet[Math.floor(r() * alphabet.length)] : String.fromCharCode(Math.floor(r() * 256));
  return s;
}

/** One hostile request: a broken line, broken headers, or a broken body. */
function request(r: () => number, i: number): Buffer {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const path = r() < 0.2 ? '/' + junk(r, Math.floor(r() * 12000), 'abc/%?&=#.\x7f ') : pick(PATHS);
  const version = pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1', 'HTTP/9', 'HTTP', '']);
  let head = `${pick(METHODS)} ${path} ${version}\r\nHost: 127.0.0.1\r\n`;
  let body = '';
  switch (i % 6) {
    case 0: // a line of garbage
      return Buffer.from(junk(r, 1 + Math.floor(r() * 300)) + '\r\n\r\n', 'latin1');
    case 1: // many or huge headers
      for (let k = 0, n = Math.floor(r() * 120); k < n; k++) head += `X-${k}: ${junk(r, Math.floor(r() * 200), 'abcdef0123 ')}\r\n`;
      if (r() < 0.3) head += `X-Big: ${'a'.repeat(9000)}\r\n`;
      break;
    case 2: // broken header syntax
      head += pick(['No colon here\r\n', ': empty name\r\n', 'Bad\x01Name: x\r\n', 'X: a\rb\r\n', ' folded: x\r\n', 'Content-Length: -1\r\n', 'Content-Length: 1\r\nContent-Length: 2\r\n', 'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n']);
      break;
    case 3: // JSON bodies to the writes
    case 4:
      head = `POST ${pick(['/api/v1/gpio/5', '/api/v1/gpio/6', '/api/v1/gpio/%zz', '/api/v1/clients/x/disconnect'])} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/jsonx'])}\r\n`;
      body = pick([
        '{"value":1}',
        '{"value":"toggle"}',
        '{"value":[1]}',
        '[' .repeat(400) + ']'.repeat(400),
        '{"value":' + '9'.repeat(500) + '}',
        junk(r, Math.floor(r() * 600)),
        '{"__proto__":{"value":1}}',
        'null',
        '',
        'x'.repeat(5000),
      ]);
      if (r() < 0.2) head += 'Origin: http://evil.example\r\n';
      head += r() < 0.8 ? `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n` : 'Transfer-Encoding: chunked\r\n';
      if (head.includes('chunked')) body = `${Buffer.byteLength(body, 'latin1').toString(16)}\r\n${body}\r\n${pick(['0\r\n\r\n', 'zz\r\n', ''])}`;
      break;
    default: // a body shorter than it says (the request timeout ends it; we do not wait)
      head += 'Content-Type: application/json\r\nContent-Length: 100\r\n';
      body = '{"val';
  }
  return Buffer.from(`${head}Connection: close\r\n\r\n${body}`, 'latin1');
}

describe('HTTP listener under hostile input', () => {
  const driver = new FakeDriver();
  let running: Running;
  let mqttPort: number;
  let httpPort: number;
  let sub: MqttClient;
  let pub: MqttClient;
  let n = 0;
  /** One MQTT round trip; rejects after 2 s. */
  const roundTrip = async (): Promise<void> => {
    const payload = `rt-${++n}`;
    const got = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`MQTT round trip ${payload} took over 2 s`)), 2000);
      const on = (_t: string, p: Buffer): void => {
        if (p.toString() !== payload) return;
        clearTimeout(t);
        sub.off('message', on);
        resolve();
      };
      sub.on('message', on);
    });
    await pub.publishAsync('rt', payload, { qos: 1 });
    await got;
  };

  beforeAll(async () => {
    const cfg = parseConfigText('listener 0 127.0.0.1\nlistener 0 127.0.0.1\nprotocol http\nmax_connections 64\nallow_anonymous true\ngpio 5 out topic=relay\ngpio 6 in topic=door\n', 'fuzz.conf');
    running = await startServer({ ...cfg, sysInterval: 0, gpioDriver: driver });
    [mqttPort, httpPort] = running.addresses.map((a) => a.port);
    sub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, reconnectPeriod: 0 });
    pub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, reconnectPeriod: 0 });
    await sub.subscribeAsync('rt', { qos: 1 });
  });
  afterAll(async () => {
    await sub?.endAsync(true);
    await pub?.endAsync(true);
    await running?.close();
  });

  it('600 broken requests get well-formed answers below 500; MQTT round trips after every batch', async () => {
    const r = rng(17);
    const statuses = new Map<number, number>();
    let silent = 0;
    const deadline = Date.now() + 45_000;
    for (let batch = 0; batch < 30 && Date.now() < deadline; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, k) => raw(httpPort, request(r, batch * 20 + k))));
      for (const a of answers) {
        if (!a) {
          silent++;
          continue;
        }
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(a);
        expect(m, a.slice(0, 200)).not.toBeNull();
        const code = Number(m![1]);
        expect(code, a.slice(0, 300)).toBeLessThan(500);
        statuses.set(code, (statuses.get(code) ?? 0) + 1);
      }
      await roundTrip();
    }
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    // Most get an answer; the rest are bodies shorter than announced, cut off by us.
    expect(total).toBeGreaterThan(400);
    for (const code of [400, 404, 405, 413, 415]) expect(statuses.get(code) ?? 0, `status ${code}: ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);
    expect(silent).toBeLessThan(150);
    // Still answering, and the valid writes in the mix did what they say.
    expect((await ask(httpPort, '/api/v1/broker')).status).toBe(200);
    expect(driver.pin(5).writes.length).toBeGreaterThan(0);
  }, 60_000);

  it('slow clients (slowloris) are cut off after the head timeout while MQTT goes on', async () => {
    const started = Date.now();
    const slow = Array.from({ length: 10 }, () => {
      const s = net.connect({ port: httpPort, host: '127.0.0.1' });
      const got: Buffer[] = [];
      s.on('data', (c) => got.push(c));
      s.on('error', () => {});
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const drip = setInterval(() => s.writable && s.write('X-Slow: a\r\n'), 500);
      return new Promise<{ ms: number; text: string }>((resolve) =>
        s.on('close', () => {
          clearInterval(drip);
          resolve({ ms: Date.now() - started, text: Buffer.concat(got).toString() });
        }),
      );
    });
    const trips = (async () => {
      let k = 0;
      for (; k < 40 && Date.now() - started < 9000; k++) {
        await roundTrip();
        await new Promise((res) => setTimeout(res, 200));
      }
      return k;
    })();
    const ended = await Promise.all(slow);
    expect(await trips).toBeGreaterThan(10);
    for (const e of ended) {
      expect(e.ms).toBeGreaterThanOrEqual(9_000);
      expect(e.ms).toBeLessThan(14_000);
      expect(e.text).toMatch(/^HTTP\/1\.1 408 /);
    }
  }, 30_000);
});
