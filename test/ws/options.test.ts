// WebSocket listener options (issue 15): http_dir serves static files over plain HTTP on the
// MQTT-over-WebSocket port (and nothing outside it), websockets_headers_size limits the request
// headers (431), websockets_origin refuses upgrades from other origins (403).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig, ListenerConfig } from '../../src/config/types.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';

let dir: string;
let www: string;
const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-ws-options-'));
  www = join(dir, 'www');
  mkdirSync(join(www, 'js'), { recursive: true });
  writeFileSync(join(www, 'index.html'), '<h1>dashboard</h1>\n');
  writeFileSync(join(www, 'js', 'app.js'), 'console.log(1);\n');
  writeFileSync(join(www, 'style.css'), 'h1{}\n');
  writeFileSync(join(www, 'data.bin'), Buffer.from([1, 2, 3]));
  writeFileSync(join(dir, 'secret.txt'), 'outside\n');
  symlinkSync(join(dir, 'secret.txt'), join(www, 'link.txt'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function wsBroker(l: Partial<ListenerConfig>, more: Partial<BrokerConfig> = {}): Promise<number> {
  const b = await startBroker({ listeners: [listener({ protocol: 'websockets', ...l })], ...more });
  brokers.push(b);
  return b.port;
}

interface Reply {
  status: number;
  type?: string;
  body: string;
}

/** One HTTP request, the path sent exactly as given (no normalisation by the client). */
function request(port: number, path: string, opts: http.RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, ...opts }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.once('error', reject);
    req.end();
  });
}

function wsOpen(port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const w = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt'], { headers });
    w.once('open', () => {
      w.close();
      resolve(101);
    });
    w.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    w.once('error', () => resolve(0));
  });
}

describe('http_dir', () => {
  it('serves the files of the directory with their content types, index.html for /, 404 for the rest', async () => {
    const port = await wsBroker({ httpDir: www });
    expect(await request(port, '/')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<h1>dashboard</h1>\n' });
    expect(await request(port, '/js/app.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', body: 'console.log(1);\n' });
    expect(await request(port, '/style.css?v=2')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
    expect(await request(port, '/data.bin')).toMatchObject({ status: 200, type: 'application/octet-stream', body: '\x01\x02\x03' });
    expect((await request(port, '/missing.html')).status).toBe(404);
    expect((await request(port, '/js/')).status).toBe(404);
    expect(await request(port, '/index.html', { method: 'HEAD' })).toMatchObject({ status: 200, body: '' });
    expect((await request(port, '/index.html', { method: 'POST' })).status).toBe(405);
  });

  it('nothing outside the directory: .., encoded separators and symbolic links out get 403 or 404', async () => {
    const port = await wsBroker({ httpDir: www });
    for (const path of ['/../secret.txt', '/js/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/js%2f..%2f..%2fsecret.txt', '/link.txt', '/%00']) {
      const r = await request(port, path);
      expect([403, 404, 400], path).toContain(r.status);
      expect(r.body, path).not.toContain('outside');
    }
    expect((await request(port, '/..%2fsecret.txt')).status).toBe(403);
    expect((await request(port, '/link.txt')).status).toBe(403);
  });

  it('MQTT over WebSocket keeps working on the same port', async () => {
    const port = await wsBroker({ httpDir: www });
    const c = mqtt.connect({ protocol: 'ws', host: '127.0.0.1', port, path: '/mqtt', reconnectPeriod: 0 });
    clients.push(c);
    await new Promise((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    expect(c.connected).toBe(true);
  });

  it('without http_dir a plain request still gets 426', async () => {
    const port = await wsBroker({});
    expect((await request(port, '/index.html')).status).toBe(426);
  });
});

describe('websockets_headers_size', () => {
  it('request headers beyond the size get 431; within it the upgrade works', async () => {
    const port = await wsBroker({ httpDir: www }, { wsHeadersSize: 1024 });
    expect((await request(port, '/', { headers: { cookie: 'x'.repeat(2000) } })).status).toBe(431);
    expect(await wsOpen(port, { cookie: 'x'.repeat(2000) })).not.toBe(101);
    expect((await request(port, '/', { headers: { cookie: 'x'.repeat(100) } })).status).toBe(200);
    expect(await wsOpen(port, { cookie: 'x'.repeat(100) })).toBe(101);
  });
});

describe('websockets_origin', () => {
  it('an upgrade from a listed origin works; another origin or none gets 403', async () => {
    const port = await wsBroker({ origins: ['https://dash.example', 'http://localhost:8080'] });
    expect(await wsOpen(port, { origin: 'https://dash.example' })).toBe(101);
    expect(await wsOpen(port, { origin: 'http://localhost:8080' })).toBe(101);
    expect(await wsOpen(port, { origin: 'https://evil.example' })).toBe(403);
    expect(await wsOpen(port)).toBe(403);
  });

  it('without websockets_origin any origin may upgrade', async () => {
    const port = await wsBroker({});
    expect(await wsOpen(port, { origin: 'https://any.example' })).toBe(101);
  });
});
