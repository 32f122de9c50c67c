// A Midge bridge speaking MQTT 5 (bridge_protocol_version mqttv50) to Debian's mosquitto: message
// properties cross in both directions, No Local on the link's subscriptions keeps `both #` from
// looping, and reason codes on the remote's acks end a refused message instead of resending it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BridgeLink } from '../../src/features/bridge/link.ts';
import { makeMessage } from '../../src/broker/message.ts';
import { log } from '../../src/util/log.ts';
import { client, crossed, endClients, exactlyOnce, type Inbox, type Midge, midge, type Mosquitto, mosquitto } from '../bridge/helpers.ts';
import { importWithFlags } from '../helpers/bundled.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll } from '../helpers/proc.ts';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const peers = requirePeer('mosquitto');
const open: { close(): Promise<void> }[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await endClients();
  for (const x of open.splice(0).reverse()) await x.close();
  for (const s of stops.splice(0)) await s();
  await killAll();
});

async function remote(conf = ''): Promise<Mosquitto> {
  const m = await mosquitto(conf);
  stops.push(m.stop);
  return m;
}

const link = (port: number, topics: string): string =>
  `connection cloud\naddress 127.0.0.1:${port}\nremote_clientid house5\nbridge_protocol_version mqttv50\nrestart_timeout 1\nnotifications false\n${topics}`;

const PROPS = {
  payloadFormatIndicator: true,
  contentType: 'application/json',
  responseTopic: 'reply/here',
  correlationData: Buffer.from([1, 2, 3]),
  userProperties: { zone: ['kitchen', 'hall'], unit: 'C' },
};

/** Midge's house/ bridged to mosquitto's cloud/ (out, and cmd/# in), an MQTT 5 client on each. */
async function house(): Promise<{ m: Mosquitto; onM: Inbox; a: Midge; onA: Inbox }> {
  const m = await remote();
  const onM = await client(m.port, ['cloud/#'], 1, 5);
  const a = await midge(link(m.port, 'topic # out 1 house/ cloud/\ntopic cmd/# in 1 house/ cloud/\n'));
  open.push(a);
  const onA = await client(a.port, ['house/#'], 1, 5);
  await crossed(onA, onM, 'house/up', 'cloud/up');
  return { m, onM, a, onA };
}

describe.skipIf(!peers)('MQTT 5 bridge to mosquitto', () => {
  it('connects with MQTT 5 and forwards messages with their properties both ways [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async () => {
    const { m, onM, a, onA } = await house();
    // mosquitto logs the protocol level of each CONNECT: p5 for the bridge.
    expect(m.proc.stderr.some((l) => l.includes('as house5 (p5,'))).toBe(true);

    await onA.client.publishAsync('house/kitchen/temp', '21.5', { qos: 1, properties: PROPS });
    await onM.until((all) => all.some((x) => x.topic === 'cloud/kitchen/temp'), 'temp on mosquitto');
    expect(onM.on('cloud/kitchen/temp')[0].properties).toMatchObject(PROPS);
    expect(Object.keys(onM.on('cloud/kitchen/temp')[0].properties!.userProperties!)).toEqual(['zone', 'unit']);

    await onM.client.publishAsync('cloud/cmd/heating', 'off', { qos: 1, properties: { userProperties: { by: 'app' }, contentType: 'text/plain' } });
    await onA.until((all) => all.some((x) => x.topic === 'house/cmd/heating'), 'command on Midge');
    expect(onA.on('house/cmd/heating')[0].properties).toMatchObject({ userProperties: { by: 'app' }, contentType: 'text/plain' });
    // Retain As Published on the link's subscription: a retained message from the remote stays
    // retained here, with its properties [MQTT-3.3.1-12] (a plain subscription gets RETAIN 0).
    await onM.client.publishAsync('cloud/cmd/mode', 'eco', { qos: 1, retain: true, properties: { userProperties: { v: '2' } } });
    await onA.until((all) => all.some((x) => x.topic === 'house/cmd/mode'), 'retained command on Midge');
    const kept = [...a.running.broker.retained.matching('house/cmd/mode')];
    expect(kept.map((x) => [x.payload.toString(), x.properties?.userProperties])).toEqual([['eco', [['v', '2']]]]);
  });

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] message expiry: the remote gets the time left, not an expired message; one from it expires here', async () => {
    const { onM, a, onA } = await house();
    const broker = a.running.broker;
    const send = (topic: string, expiresAt: number): void => {
      const msg = makeMessage(topic, Buffer.from('x'), 1, false);
      msg.properties = { messageExpiryInterval: 100 };
      msg.expiresAt = expiresAt;
      broker.publish(msg);
    };
    send('house/old', broker.now - 1); // expired while it waited
    send('house/fresh', broker.now + 40); // 60 of its 100 s gone
    await onM.until((all) => all.some((x) => x.topic === 'cloud/fresh'), 'fresh on mosquitto');
    expect(onM.on('cloud/old')).toEqual([]);
    const left = onM.on('cloud/fresh')[0].properties?.messageExpiryInterval;
    expect(left).toBeGreaterThan(35);
    expect(left).toBeLessThanOrEqual(40);
    // From the remote: Midge counts the interval down from when the message arrived.
    await onM.client.publishAsync('cloud/cmd/temp', '19', { qos: 1, retain: true, properties: { messageExpiryInterval: 30 } });
    await onA.until((all) => all.some((x) => x.topic === 'house/cmd/temp'), 'command on Midge');
    const kept = [...broker.retained.matching('house/cmd/temp')][0];
    expect(kept.expiresAt! - broker.now).toBeGreaterThan(25);
    expect(kept.expiresAt! - broker.now).toBeLessThanOrEqual(30);
  });

  it('loop test: bridged both ways on # over MQTT 5 (No Local, no try_private), each message arrives exactly once', async () => {
    const m = await remote();
    const onM = await client(m.port, ['#'], 1, 5);
    const a = await midge(link(m.port, 'topic # both 1\n'));
    open.push(a);
    const onA = await client(a.port, ['#'], 1, 5);
    await crossed(onA, onM);
    await exactlyOnce(onA, onM, 30);
  });

  it('a PUBACK or PUBREC with reason 0x87 from the remote is logged once and not resent; the window stays open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midge-acl-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    // Anonymous clients (the bridge, the test's subscriber) may read everything, write only ok/#.
    writeFileSync(join(dir, 'acl'), 'topic read #\ntopic write ok/#\n');
    // mosquitto started as root reads the file as user mosquitto.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'acl'), 0o644);
    const m = await remote(`acl_file ${join(dir, 'acl')}`);
    const onM = await client(m.port, ['#'], 2, 5);
    const lines: string[] = [];
    const write = log.write.bind(log);
    vi.spyOn(log, 'write').mockImplementation((t, msg) => {
      lines.push(`${t}: ${msg}`);
      write(t, msg);
    });
    const a = await midge(link(m.port, 'topic # out 2\n'));
    open.push(a);
    const onA = await client(a.port);
    await crossed(onA, onM, 'ok/up');
    // More refused QoS 1 and QoS 2 messages than the in-flight window (20) holds, then one allowed.
    for (let i = 0; i < 30; i++) await onA.client.publishAsync(`no/${i}`, 'x', { qos: (1 + (i % 2)) as 1 | 2 });
    await onA.client.publishAsync('ok/after', 'y', { qos: 1 });
    await onM.until((all) => all.some((x) => x.topic === 'ok/after'), 'ok/after on mosquitto');
    expect(onM.all.filter((x) => x.topic.startsWith('no/'))).toEqual([]);
    const refused = lines.filter((l) => l.includes('Bridge cloud: the remote refused'));
    expect(refused).toEqual(['warning: Bridge cloud: the remote refused the message on no/0 (reason 0x87).']);
    // Each refused message crossed once: mosquitto denied 30 PUBLISH packets, none resent.
    expect(m.proc.stderr.filter((l) => l.includes('Denied PUBLISH'))).toHaveLength(30);
    // Nothing stays in flight (ok/after's PUBACK may still be on its way).
    const session = a.running.broker.sessions.get('local.house5');
    await vi.waitFor(() => expect(session?.inflightCount).toBe(0), { timeout: 5000 });
  });
});

describe.skipIf(!peers)('MQTT 5 bridge: the remote\'s limits', () => {
  it('[MQTT-3.3.4-7] [MQTT-3.2.2-15] [MQTT-3.2.2-22] keeps to the remote\'s Receive Maximum, Maximum Packet Size and Server Keep Alive', async () => {
    // mosquitto's CONNACK announces max_inflight_messages as Receive Maximum, max_packet_size as
    // Maximum Packet Size, and max_keepalive as Server Keep Alive when the client asked for more.
    const m = await remote('max_inflight_messages 3\nmax_packet_size 500\nmax_keepalive 10');
    const onM = await client(m.port, ['#'], 1, 5);
    const lines: string[] = [];
    vi.spyOn(log, 'write').mockImplementation((t, msg) => void lines.push(`${t}: ${msg}`));
    const a = await midge(link(m.port, 'topic # out 1\n'));
    open.push(a);
    const onA = await client(a.port);
    await crossed(onA, onM, 'up');
    const session = a.running.broker.sessions.get('local.house5')!;
    const link5 = session.outlet as BridgeLink;
    // Ten messages published in one turn: at most 3 go out before the first PUBACK.
    const inFlight: number[] = [];
    const send = link5.sendPublish.bind(link5);
    vi.spyOn(link5, 'sendPublish').mockImplementation((...args) => {
      send(...args);
      inFlight.push(session.inflightCount);
    });
    await onA.client.publishAsync('big', 'x'.repeat(600), { qos: 1 });
    for (let i = 0; i < 10; i++) a.running.broker.publish(makeMessage(`small/${i}`, Buffer.from(String(i)), 1, false));
    await onM.until((all) => all.filter((x) => x.topic.startsWith('small/')).length === 10, 'small messages');
    expect(Math.max(...inFlight)).toBe(3);
    expect(onM.on('big')).toEqual([]);
    expect(lines.filter((l) => l.includes('dropped message on big'))).toEqual([
      expect.stringMatching(/of 6\d\d bytes \(the remote's maximum 500\)/),
    ]);
    // keepalive_interval is 60 (the default): a PINGREQ within 10 s follows the server's value.
    await m.proc.waitFor('Received PINGREQ from house5', 15_000, 'stderr');
  }, 30_000);
});

describe('MQTT 5 bridge code and the MQTT5 flag', () => {
  it('a BRIDGE build without MQTT5 has none of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midge-bridge5-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const src = new URL('../../src/features/bridge/index.ts', import.meta.url);
    const markers = ['the remote refused the message on', 'noLocal: true', 'p.sessionExpiryInterval = expiry'];
    for (const flags of [['BRIDGE'], ['BRIDGE', 'MQTT5']]) {
      await importWithFlags(src, flags, dir);
      const bundle = readFileSync(join(dir, `bundled-${flags.join('-')}.mjs`), 'utf8');
      for (const m of markers) expect(bundle.includes(m), `${m} with ${flags}`).toBe(flags.includes('MQTT5'));
    }
  });
});
