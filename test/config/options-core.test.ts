// Core mosquitto.conf options of issue 15, each against a running broker (in-process, from a parsed
// config file): client ids (allow_zero_length_clientid, auto_id_prefix, clientid_prefixes,
// use_username_as_clientid), accept_protocol_versions, global_max_clients, global_max_connections,
// bind_interface and socket_domain, and the log (connection_messages, log_timestamp,
// log_timestamp_format). The process-level options (user, --test-config, log_dest syslog) are in
// user.test.ts and options-bundle.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startServer, type Running } from '../../src/server.ts';
import { log, strftime } from '../../src/util/log.ts';
import { RawClient } from '../helpers/raw.ts';

const running: Running[] = [];

async function start(text: string, head = 'allow_anonymous true'): Promise<Running> {
  const r = await startServer(parseConfigText(`sys_interval 0\n${head}\n${text}\n`, 'opts.conf'));
  running.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

const port = (r: Running, i = 0): number => r.addresses[i].port;

/** CONNACK of a raw CONNECT (`v` = protocol level) and whether the broker then closed. */
async function connack(p: number, v: number, o: Record<string, unknown>): Promise<{ code: number; props?: Record<string, unknown>; closed: boolean }> {
  const c = await RawClient.connect(p, v);
  c.send({ cmd: 'connect', clientId: 'x', clean: true, keepalive: 60, protocolVersion: v, ...(v === 3 && { protocolId: 'MQIsdp' }), ...o });
  const a = await c.next();
  expect(a.cmd).toBe('connack');
  const code = v === 5 ? a.reasonCode : a.returnCode;
  const closed = code === 0 ? false : await c.closesWithin();
  c.end();
  return { code, props: a.properties, closed };
}

describe('client ids', () => {
  it('allow_zero_length_clientid false: an empty id is refused with 2, MQTT 5 0x85 [MQTT-3.1.3-8]', async () => {
    const r = await start('allow_zero_length_clientid false\nlistener 0 127.0.0.1');
    expect(await connack(port(r), 4, { clientId: '' })).toMatchObject({ code: 2, closed: true });
    expect(await connack(port(r), 5, { clientId: '' })).toMatchObject({ code: 0x85, closed: true });
    expect((await connack(port(r), 4, { clientId: 'named' })).code).toBe(0);
  });

  it("auto_id_prefix: an assigned id is the prefix and a UUID (default 'auto-') [MQTT-3.2.2-16]", async () => {
    const r = await start('listener 0 127.0.0.1\nlistener 0 127.0.0.1\nauto_id_prefix dev-');
    // Without per_listener_settings the prefix is global: both listeners use it.
    for (const i of [0, 1]) {
      const { code, props } = await connack(port(r, i), 5, { clientId: '' });
      expect(code).toBe(0);
      expect(props?.assignedClientIdentifier).toMatch(/^dev-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    }
    const d = await start('listener 0 127.0.0.1');
    expect((await connack(port(d), 5, { clientId: '' })).props?.assignedClientIdentifier).toMatch(/^auto-[0-9A-F-]{36}$/);
  });

  it.runIf(AUTH)('with per_listener_settings true both options are per listener', async () => {
    const r = await start(
      'per_listener_settings true\nlistener 0 127.0.0.1\nallow_anonymous true\nallow_zero_length_clientid false\n' +
        'listener 0 127.0.0.1\nallow_anonymous true\nauto_id_prefix second-',
      '',
    );
    expect((await connack(port(r, 0), 4, { clientId: '' })).code).toBe(2);
    const { code, props } = await connack(port(r, 1), 5, { clientId: '' });
    expect(code).toBe(0);
    expect(props?.assignedClientIdentifier).toMatch(/^second-/);
  });

  it('clientid_prefixes: other ids are refused as not authorised (5, MQTT 5 0x87)', async () => {
    const r = await start('clientid_prefixes secure-\nlistener 0 127.0.0.1');
    expect(await connack(port(r), 4, { clientId: 'mqtt' })).toMatchObject({ code: 5, closed: true });
    expect(await connack(port(r), 5, { clientId: 'mqtt' })).toMatchObject({ code: 0x87, closed: true });
    expect((await connack(port(r), 4, { clientId: 'secure-client' })).code).toBe(0);
  });

  it('use_username_as_clientid: the session is the username; no username is not authorised', async () => {
    const r = await start('listener 0 127.0.0.1\nuse_username_as_clientid true');
    const c = await RawClient.connect(port(r));
    c.send({ cmd: 'connect', clientId: 'chosen', clean: false, keepalive: 60, username: 'bob', protocolVersion: 4 });
    expect((await c.next()).returnCode).toBe(0);
    expect([...r.broker.sessions.keys()]).toEqual(['bob']);
    c.end();
    expect(await connack(port(r), 4, { clientId: 'anon' })).toMatchObject({ code: 5, closed: true });
    expect(await connack(port(r), 5, { clientId: 'anon' })).toMatchObject({ code: 0x87, closed: true });
  });
});

describe('accept_protocol_versions (Mosquitto 2.1)', () => {
  it('refuses other levels: 1 unacceptable protocol version, MQTT 5 0x84 [MQTT-3.1.2-2]', async () => {
    const r = await start('listener 0 127.0.0.1\naccept_protocol_versions 4');
    expect((await connack(port(r), 4, {})).code).toBe(0);
    expect(await connack(port(r), 3, {})).toMatchObject({ code: 1, closed: true });
    expect(await connack(port(r), 5, {})).toMatchObject({ code: 0x84, closed: true });
  });

  it('takes a comma-separated list, per listener', async () => {
    const r = await start('listener 0 127.0.0.1\naccept_protocol_versions 3, 5\nlistener 0 127.0.0.1');
    expect((await connack(port(r), 3, {})).code).toBe(0);
    expect((await connack(port(r), 5, {})).code).toBe(0);
    expect((await connack(port(r), 4, {})).code).toBe(1);
    expect((await connack(port(r, 1), 4, {})).code).toBe(0);
    expect(() => parseConfigText('listener 1883\naccept_protocol_versions 4,6', 'a.conf')).toThrow(
      "a.conf:2: option 'accept_protocol_versions' takes 3, 4 or 5, comma-separated",
    );
  });
});

describe('global limits (Mosquitto 2.1)', () => {
  it('global_max_clients counts sessions, connected or not; taking over one is allowed', async () => {
    const r = await start('global_max_clients 1\nlistener 0 127.0.0.1');
    const a = await RawClient.connect(port(r));
    a.send({ cmd: 'connect', clientId: 'kept', clean: false, keepalive: 60, protocolVersion: 4 });
    expect((await a.next()).returnCode).toBe(0);
    a.end();
    await expect.poll(() => r.broker.sessions.get('kept')?.outlet).toBeFalsy();
    // The disconnected persistent session still counts.
    expect(await connack(port(r), 4, { clientId: 'new' })).toMatchObject({ code: 3, closed: true });
    expect(await connack(port(r), 5, { clientId: 'new' })).toMatchObject({ code: 0x89, closed: true });
    expect((await connack(port(r), 4, { clientId: 'kept', clean: false })).code).toBe(0);
  });

  it('global_max_connections closes connections past the limit at once, over all listeners', async () => {
    const r = await start('global_max_connections 1\nlistener 0 127.0.0.1\nlistener 0 127.0.0.1');
    const first = await RawClient.connect(port(r, 0));
    first.send({ cmd: 'connect', clientId: 'first', clean: true, keepalive: 60, protocolVersion: 4 });
    expect((await first.next()).returnCode).toBe(0);
    const second = await RawClient.connect(port(r, 1));
    second.send({ cmd: 'connect', clientId: 'second', clean: true, keepalive: 60, protocolVersion: 4 });
    expect(await second.closesWithin()).toBe(true);
    expect(second.packets).toEqual([]);
    first.end();
    await first.closed;
    await expect.poll(() => r.broker.sessions.size).toBe(0);
    expect((await connack(port(r, 1), 4, { clientId: 'third' })).code).toBe(0);
  });
});

describe('sockets', () => {
  const lo = networkInterfaces().lo ?? [];
  const v6 = lo.some((a) => a.family === 'IPv6');

  it.runIf(lo.length > 0)("bind_interface lo listens on lo's addresses, one per IP version", async () => {
    const r = await start('listener 0\nbind_interface lo');
    expect(r.addresses.map((a) => a.host)).toEqual(v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    expect((await connack(port(r), 4, {})).code).toBe(0);
  });

  it.runIf(v6)('socket_domain picks one IP version', async () => {
    const r = await start('listener 0\nbind_interface lo\nsocket_domain ipv6\nlistener 0\nbind_interface lo\nsocket_domain ipv4');
    expect(r.addresses.map((a) => a.host)).toEqual(['::1', '127.0.0.1']);
  });

  it('a missing interface stops start-up; bad values are config errors', async () => {
    await expect(start('listener 0\nbind_interface nosuch0')).rejects.toThrow('bind_interface nosuch0: no such interface or no address');
    expect(() => parseConfigText('listener 1883\nsocket_domain ipv5', 's.conf')).toThrow("s.conf:2: option 'socket_domain' needs ipv4 or ipv6, got 'ipv5'");
    expect(parseConfigText('set_tcp_nodelay false', 's.conf').setTcpNodelay).toBe(false);
  });
});

describe('log lines', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-log-'));
  });
  afterEach(() => {
    // Back to the test default (test/helpers/broker.ts).
    log.configure(new Set(['error']), [{ kind: 'stderr' }], true);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function logTo(name: string, stamp: boolean | string = false): void {
    file = join(dir, name);
    log.configure(new Set(['error', 'warning', 'notice', 'information']), [{ kind: 'file', path: file }], stamp);
  }
  const lines = (): string[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  it("connection_messages (default true): Mosquitto's lines for connect and disconnect", async () => {
    logTo('conn.log');
    const r = await start('listener 0 127.0.0.1');
    const p = port(r);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${p}`, { clientId: 'sensor', keepalive: 60, reconnectPeriod: 0 });
    const s = c.stream as unknown as { localAddress: string; localPort: number };
    const local = `${s.localAddress}:${s.localPort}`;
    await c.endAsync();
    const v5 = await mqtt.connectAsync(`mqtt://127.0.0.1:${p}`, { clientId: 'five', protocolVersion: 5, username: 'bob', keepalive: 30, clean: false, reconnectPeriod: 0 });
    v5.stream.destroy();
    await expect.poll(lines).toContain('Client five closed its connection.');
    const l = lines();
    expect(l).toContain(`New connection from ${local} on port ${p}.`);
    expect(l).toContain(`New client connected from ${local} as sensor (p2, c1, k60).`);
    expect(l).toContain('Client sensor disconnected.');
    expect(l.some((x) => /^New client connected from 127\.0\.0\.1:\d+ as five \(p5, c0, k30, u'bob'\)\.$/.test(x))).toBe(true);
  });

  it('connection_messages false leaves them out; log_timestamp_format stamps the rest', async () => {
    logTo('quiet.log', '%Y-%m-%dT%H:%M:%S');
    const r = await start('connection_messages false\nlistener 0 127.0.0.1');
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port(r)}`, { clientId: 'quiet', reconnectPeriod: 0 });
    await c.endAsync();
    log.notice('marker');
    await expect.poll(lines).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: Opening ipv4 listen socket/), expect.stringMatching(/: marker$/)]);
  });

  it('log_timestamp: Unix seconds by default, none when false', () => {
    logTo('stamp.log', true);
    const before = Math.floor(Date.now() / 1000);
    log.notice('with');
    logTo('stamp.log', false);
    log.notice('without');
    const [a, b] = lines();
    expect(Number(a.split(': ')[0])).toBeGreaterThanOrEqual(before);
    expect(a).toMatch(/^\d+: with$/);
    expect(b).toBe('without');
    const c = parseConfigText('log_timestamp false\nlog_timestamp_format %H:%M %d', 't.conf');
    expect([c.logTimestamp, c.logTimestampFormat]).toEqual([false, '%H:%M %d']);
    expect(parseConfigText('log_facility 7', 't.conf').logFacility).toBe(7);
    expect(() => parseConfigText('log_facility 8', 't.conf')).toThrow("t.conf:1: option 'log_facility' is out of range: 8 (allowed 0..7)");
  });

  it('strftime: the conversions of log_timestamp_format, in local time', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    expect(strftime('%Y-%m-%d %H:%M:%S|%y|%e|%a %b|%F %T|%%|%Q', d)).toBe('2026-01-05 07:08:09|26| 5|Mon Jan|2026-01-05 07:08:09|%|%Q');
    expect(strftime('%s', d)).toBe(String(Math.floor(d.getTime() / 1000)));
    expect(strftime('%z', d)).toMatch(/^[+-]\d{4}$/);
  });
});
