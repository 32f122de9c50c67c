// Who may see and change what over HTTP: the broker's own rules. allow_anonymous, password_file
// (HTTP Basic), the ACL (read access to $SYS/# to see anything, write access to a pin's set topic
// or to the admin topic to change it), and HTTPS with certfile/keyfile on the listener.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.ts';
import { parseConfigText } from '../../src/config/parse.ts';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import { startServer, type Running } from '../../src/server.ts';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { requirePeer } from '../helpers/peers.ts';
import { FakeDriver } from '../gpio/fake-pin.ts';
import { ask, post } from './client.ts';

const dir = mkdtempSync(join(tmpdir(), 'midge-http-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HTTP listener security', () => {
  it('without a config file there is no HTTP listener', () => {
    expect(defaultConfig().listeners.map((l) => l.protocol)).not.toContain('http');
    expect(defaultConfig().listeners.length).toBeGreaterThan(0);
  });

  const driver = new FakeDriver();
  let running: Running;
  let mqttPort: number;
  let httpPort: number;

  beforeAll(async () => {
    writeFileSync(join(dir, 'passwd'), ['viewer', 'admin', 'nobody'].map((u) => `${u}:${hashPassword(`${u}-pw`)}`).join('\n') + '\n');
    writeFileSync(
      join(dir, 'acl'),
      ['user viewer', 'topic read $SYS/#', 'user admin', 'topic read $SYS/#', 'topic write relay/set', 'topic write $SYS/broker/admin/#', 'user nobody', 'topic read #', ''].join('\n'),
    );
    const cfg = parseConfigText(
      `listener 0 127.0.0.1\nlistener 0 127.0.0.1\nprotocol http\nallow_anonymous false\npassword_file ${dir}/passwd\nacl_file ${dir}/acl\ngpio 5 out topic=relay\n`,
      'auth.conf',
    );
    running = await startServer({ ...cfg, sysInterval: 0, gpioDriver: driver });
    [mqttPort, httpPort] = running.addresses.map((a) => a.port);
  });
  afterAll(() => running?.close());

  it('allow_anonymous false: no credentials or wrong ones get 401 with a Basic challenge', async () => {
    for (const path of ['/', '/metrics', '/api/v1/broker']) {
      const r = await ask(httpPort, path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="midge", charset="UTF-8"');
    }
    expect((await ask(httpPort, '/api/v1/broker', { auth: 'viewer:wrong' })).status).toBe(401);
    expect((await ask(httpPort, '/api/v1/broker', { auth: 'ghost:ghost-pw' })).status).toBe(401);
    expect((await ask(httpPort, '/api/v1/broker', { headers: { authorization: 'Bearer abc' } })).status).toBe(401);
    expect((await ask(httpPort, '/api/v1/broker', { headers: { authorization: 'Basic !!!' } })).status).toBe(401);
  });

  it('reading needs read access to $SYS/#: a user without it gets 403', async () => {
    expect((await ask(httpPort, '/api/v1/broker', { auth: 'viewer:viewer-pw' })).status).toBe(200);
    expect((await ask(httpPort, '/metrics', { auth: 'viewer:viewer-pw' })).status).toBe(200);
    const r = await ask(httpPort, '/api/v1/broker', { auth: 'nobody:nobody-pw' });
    expect(r.status).toBe(403);
    expect(r.json().error).toContain('$SYS/#');
  });

  it("setting a pin needs write access to its set topic; disconnecting, to the admin topic", async () => {
    expect((await post(httpPort, '/api/v1/gpio/5', { value: 1 }, { auth: 'viewer:viewer-pw' })).status).toBe(403);
    expect(driver.pin(5).writes).toEqual([]);
    expect((await post(httpPort, '/api/v1/gpio/5', { value: 1 }, { auth: 'admin:admin-pw' })).status).toBe(200);
    expect(driver.pin(5).writes).toEqual([1]);
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId: 'victim', username: 'viewer', password: 'viewer-pw', reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    expect((await post(httpPort, '/api/v1/clients/victim/disconnect', {}, { auth: 'viewer:viewer-pw' })).status).toBe(403);
    expect(c.connected).toBe(true);
    expect((await post(httpPort, '/api/v1/clients/victim/disconnect', {}, { auth: 'admin:admin-pw' })).status).toBe(200);
    await closed;
  });
});

describe.skipIf(!requirePeer('openssl'))('HTTPS (certfile/keyfile on the listener)', () => {
  let certs: Certs;
  let running: Running;
  let port: number;
  beforeAll(async () => {
    certs = await makeCerts(mkdtempSync(join(dir, 'certs-')));
    const cfg = parseConfigText(`listener 0 127.0.0.1\nprotocol http\ncertfile ${certs.serverCert}\nkeyfile ${certs.serverKey}\nallow_anonymous true\n`, 'https.conf');
    running = await startServer({ ...cfg, sysInterval: 0 });
    port = running.addresses[0].port;
  });
  afterAll(() => running?.close());

  it('serves the API over TLS, verified with the test CA; plain HTTP gets no answer', async () => {
    const r = await ask(port, '/api/v1/broker', { ca: readFileSync(certs.ca) });
    expect(r.status).toBe(200);
    expect(r.json().listeners[0]).toMatchObject({ protocol: 'http', tls: true, port });
    // Writes compare Origin with the https:// origin.
    const w = await post(port, '/api/v1/clients/x/disconnect', {}, { ca: readFileSync(certs.ca), headers: { origin: `https://127.0.0.1:${port}` } });
    expect(w.status).toBe(404);
    await expect(ask(port, '/api/v1/broker')).rejects.toThrow();
  });
});
