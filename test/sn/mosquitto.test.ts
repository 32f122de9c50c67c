// The MQTT-SN gateway in the shipped form: a bundle built with SN, copied alone and run with a
// mosquitto.conf that has an `protocol mqttsn` listener and a Paho-format predefined topics file;
// Debian's mosquitto_sub and mosquitto_pub on the TCP side, the MQTT-SN test client on UDP.
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as sn from '../../src/features/sn/codec.ts';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';
import { SnTestClient } from './sn-client.ts';

const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');

/** A UDP port free on 127.0.0.1 now. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!havePeers)('MQTT-SN gateway bundle with mosquitto_sub / mosquitto_pub', () => {
  let dir: string;
  let midge: Proc;
  let tcp: number;
  let udp: number;
  const clients: SnTestClient[] = [];
  const host = (): string[] => ['-h', '127.0.0.1', '-p', String(tcp)];

  beforeAll(async () => {
    const { buildBundle } = await import('../../scripts/build.mjs');
    dir = mkdtempSync(join(tmpdir(), 'midge-sn-'));
    const bundle = join(dir, 'broker.min.js');
    await buildBundle({ outfile: bundle, flags: ['SN'] });
    [tcp, udp] = await Promise.all([freePort(), freeUdpPort()]);
    writeFileSync(join(dir, 'predefined.conf'), '# CLIENTID, TOPIC, ID\n*, home/garden/soil, 10\nsensor-1, home/sensor-1/cmd, 11\n');
    writeFileSync(
      join(dir, 'midge.conf'),
      [
        'allow_anonymous true',
        `listener ${tcp} 127.0.0.1`,
        `listener ${udp} 127.0.0.1`,
        'protocol mqttsn',
        'gateway_id 5',
        'advertise_interval 0',
        'predefined_topics predefined.conf',
        '',
      ].join('\n'),
    );
    midge = spawnProc(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { cwd: dir });
    await midge.waitFor(`Opening MQTT-SN gateway 5 on ipv4 UDP socket 127.0.0.1 port ${udp}.`, 10_000, 'stderr');
    await midge.waitFor(`Opening ipv4 listen socket on 127.0.0.1 port ${tcp}.`, 10_000, 'stderr');
  }, 60_000);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    midge?.kill('SIGTERM');
    await midge?.waitExit(5000);
    await killAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function snClient(): Promise<SnTestClient> {
    const c = await SnTestClient.open(udp);
    clients.push(c);
    return c;
  }

  /** mosquitto_sub, known to be subscribed once it prints a retained marker. */
  async function sub(name: string, ...args: string[]): Promise<Proc> {
    await run('mosquitto_pub', [...host(), '-t', `ready/${name}`, '-m', 'ready', '-r', '-q', '1']);
    const s = spawnProc('mosquitto_sub', [...host(), '-W', '15', '-t', `ready/${name}`, '-F', '%t|%q|%r|%p', ...args]);
    await s.waitFor((l) => l.startsWith(`ready/${name}|`));
    return s;
  }

  it('mosquitto_sub receives an MQTT-SN sensor\'s QoS -1 (predefined id), 0, 1 and 2 publishes', async () => {
    const s = await sub('up', '-t', 'home/#', '-q', '2');
    const c = await snClient();
    c.publish(10, 'dry', -1, { topicIdType: sn.TOPIC_PREDEFINED });
    await s.waitFor('home/garden/soil|0|0|dry');
    expect(await c.connect('sensor-1')).toBe(0);
    const { topicId } = await c.register('home/sensor-1/temp');
    c.publish(topicId as number, '20.5', 0);
    await s.waitFor('home/sensor-1/temp|0|0|20.5');
    const ack = c.next(sn.PUBACK);
    c.publish(topicId as number, '21.0', 1);
    await ack;
    await s.waitFor('home/sensor-1/temp|1|0|21.0');
    const rec = c.next(sn.PUBREC);
    const mid = c.publish(topicId as number, '21.5', 2);
    await rec;
    await c.request({ type: sn.PUBREL, msgId: mid }, sn.PUBCOMP);
    await s.waitFor('home/sensor-1/temp|2|0|21.5');
    await c.disconnect();
  });

  it('mosquitto_pub reaches an MQTT-SN subscriber: predefined id, QoS 1 and 2, and a retained message', async () => {
    await run('mosquitto_pub', [...host(), '-t', 'home/sensor-1/cmd', '-m', 'kept', '-r', '-q', '1']);
    const c = await snClient();
    expect(await c.connect('sensor-1')).toBe(0);
    expect(await c.subscribe(11, 2, sn.TOPIC_PREDEFINED)).toMatchObject({ rc: 0, topicId: 11, qos: 2 });
    const r = await c.next(sn.PUBLISH);
    expect(r).toMatchObject({ retain: true, topicIdType: sn.TOPIC_PREDEFINED, topicId: 11, payload: Buffer.from('kept') });
    c.send({ type: sn.PUBACK, topicId: 11, msgId: r.msgId, rc: 0 });
    await run('mosquitto_pub', [...host(), '-t', 'home/sensor-1/cmd', '-m', 'on', '-q', '2']);
    const p = await c.next(sn.PUBLISH);
    expect(p).toMatchObject({ qos: 2, retain: false, topicId: 11, payload: Buffer.from('on') });
    await c.request({ type: sn.PUBREC, msgId: p.msgId }, sn.PUBREL);
    c.send({ type: sn.PUBCOMP, msgId: p.msgId });
    await c.disconnect();
  });
});
