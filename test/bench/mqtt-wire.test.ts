// The benchmark's own MQTT encoder (scripts/bench/mqtt-wire.mjs), checked so its figures measure
// what they claim: every packet it sends parses with mqtt-packet (an independent codec) at level 4
// and 5, payloadStart finds the payload behind any v5 property section, openClient reports why a
// broker refused it, and a v5 round trip through Debian's mosquitto delivers the bytes intact.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ack, connectPacket, openClient, payloadStart, publishPacket, receiveMaximum, subscribePacket } from '../../scripts/bench/mqtt-wire.mjs';
import { mosquitto } from '../bridge/helpers.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll } from '../helpers/proc.ts';

type Parsed = mqttPacket.Packet & Record<string, any>;

/** Every packet in `buf`, parsed by mqtt-packet at `protocolVersion`; throws on a parse error. */
function parse(buf: Buffer, protocolVersion: number): Parsed[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: Parsed[] = [];
  parser.on('packet', (p: Parsed) => out.push(p));
  parser.on('error', (e: Error) => {
    throw e;
  });
  expect(parser.parse(buf)).toBe(0); // no bytes left over
  return out;
}

describe.each([4, 5] as const)('mqtt-wire at protocol level %i', (version) => {
  it('CONNECT parses with the level, clean flag, keep-alive and client id', () => {
    const [p] = parse(connectPacket('bench-x', { keepalive: 30, version }), version);
    expect(p).toMatchObject({ cmd: 'connect', protocolVersion: version, clean: true, keepalive: 30, clientId: 'bench-x' });
    if (version === 5) expect(p.properties ?? {}).toEqual({});
  });

  it('SUBSCRIBE parses with the filter and requested QoS (v5: options byte with the other options 0)', () => {
    const [p] = parse(subscribePacket(7, 'bench/+/x', 2, version), version);
    expect(p).toMatchObject({ cmd: 'subscribe', messageId: 7 });
    expect(p.subscriptions).toHaveLength(1);
    expect(p.subscriptions[0]).toMatchObject({ topic: 'bench/+/x', qos: 2 });
    if (version === 5) expect(p.subscriptions[0]).toMatchObject({ nl: false, rap: false, rh: 0 });
  });

  it.each([0, 1, 2])('PUBLISH QoS %i parses; idOffset and payloadOffset point at the id and payload', (qos) => {
    const payload = Buffer.from('0123456789abcdef');
    const { buf, idOffset, payloadOffset } = publishPacket('bench/q', payload, qos, qos === 1, 513, version);
    const [p] = parse(buf, version);
    expect(p).toMatchObject({ cmd: 'publish', topic: 'bench/q', qos, retain: qos === 1 });
    expect(Buffer.compare(p.payload, payload)).toBe(0);
    if (qos > 0) {
      expect(p.messageId).toBe(513);
      buf.writeUInt16BE(9, idOffset); // patched in place as the generator does
      expect(parse(buf, version)[0].messageId).toBe(9);
    }
    expect(buf.subarray(payloadOffset).equals(payload)).toBe(true);
  });

  it('acks parse as PUBACK/PUBREC/PUBREL/PUBCOMP with the packet id (v5: reason code 0 left out)', () => {
    const acks = Buffer.concat([ack(4, 1), ack(5, 2), ack(6, 3), ack(7, 4)]);
    const parsed = parse(acks, version);
    expect(parsed.map((p) => [p.cmd, p.messageId])).toEqual([['puback', 1], ['pubrec', 2], ['pubrel', 3], ['pubcomp', 4]]);
    if (version === 5) expect(parsed.every((p) => (p.reasonCode ?? 0) === 0)).toBe(true);
  });
});

describe('payloadStart', () => {
  const payload = Buffer.alloc(64, 0x61);
  it.each([0, 1, 2])('skips topic, id and a v5 property section of any length (QoS %i) [MQTT-3.3.2.3]', (qos) => {
    // Properties a broker may add to a delivery; 200 bytes of user property need a 2-byte length.
    const properties = { messageExpiryInterval: 60, subscriptionIdentifier: 300, userProperties: { k: 'v'.repeat(200) }, contentType: 'text/plain' };
    const buf = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload, qos, messageId: 5, retain: false, dup: false, properties } as any, { protocolVersion: 5 });
    const bodyStart = 1 + varintLength(buf, 1);
    expect(payloadStart(buf[0] & 15, buf, bodyStart, 5)).toBe(buf.length - payload.length);
    // The same bytes read as 3.1.1 would misplace the payload: the check the generator relies on.
    expect(payloadStart(buf[0] & 15, buf, bodyStart, 4)).not.toBe(buf.length - payload.length);
  });
  it('returns -1 for a property length that runs off the end', () => {
    const buf = Buffer.from([0, 1, 0x61, 0xff, 0xff]);
    expect(payloadStart(0, buf, 0, 5)).toBe(-1);
  });
});

/** Bytes taken by the remaining-length varint at `i`. */
function varintLength(buf: Buffer, i: number): number {
  let n = 1;
  while (buf[i + n - 1]! & 128) n++;
  return n;
}

describe('receiveMaximum', () => {
  /** A v5 CONNACK from mqtt-packet with `properties`; returns its Receive Maximum as read here. */
  const read = (properties: Record<string, unknown>) => {
    const buf = mqttPacket.generate({ cmd: 'connack', reasonCode: 0, sessionPresent: false, properties } as any, { protocolVersion: 5 });
    return receiveMaximum(buf, 1 + varintLength(buf, 1) + 2, buf.length);
  };
  it('finds property 0x21 behind strings, a user property pair and fixed-size properties [MQTT-3.2.2.3.3]', () => {
    expect(read({ assignedClientIdentifier: 'abc', userProperties: { k: 'vv' }, maximumPacketSize: 1000, topicAliasMaximum: 10, receiveMaximum: 100 })).toBe(100);
    expect(read({ receiveMaximum: 7, sessionExpiryInterval: 60 })).toBe(7);
  });
  it('is 65 535 when absent (the spec default)', () => {
    expect(read({ maximumQoS: 1, reasonString: 'ok' })).toBe(65535);
    expect(read({})).toBe(65535);
  });
  it('openClient reports it from the CONNACK', async () => {
    const srv = net.createServer((sock) => {
      sock.once('data', () => sock.write(mqttPacket.generate({ cmd: 'connack', reasonCode: 0, sessionPresent: false, properties: { receiveMaximum: 42 } } as any, { protocolVersion: 5 })));
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const c = await openClient((srv.address() as net.AddressInfo).port, 'x', { version: 5 });
      expect(c.receiveMaximum).toBe(42);
      c.socket.destroy();
    } finally {
      srv.close();
    }
  });
});

describe('openClient', () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  /** A one-shot fake broker that answers the first bytes it reads with `reply` (then closes when `close`). */
  function fake(reply: Buffer, close: boolean): Promise<number> {
    return new Promise((resolve) => {
      const srv = net.createServer((sock) => {
        sock.once('data', () => {
          if (close) sock.end(reply);
          else sock.write(reply);
        });
        sock.on('error', () => {});
      });
      servers.push(srv);
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port));
    });
  }

  it('rejects with the return code a 3.1.1 broker refuses a v5 CONNECT with', async () => {
    const port = await fake(Buffer.from([0x20, 2, 0, 1]), true);
    await expect(openClient(port, 'x', { version: 5 })).rejects.toThrow('CONNACK 0x01');
  });
  it('rejects with a refused subscription’s SUBACK code', async () => {
    const port = await fake(Buffer.from([0x20, 3, 0, 0, 0, 0x90, 4, 0, 1, 0, 0x87]), false);
    await expect(openClient(port, 'x', { version: 5, extra: [subscribePacket(1, 'a', 0, 5)], acksWanted: 1 })).rejects.toThrow('SUBACK 0x87');
  });
  it('rejects when the broker closes before CONNACK', async () => {
    const port = await fake(Buffer.alloc(0), true);
    await expect(openClient(port, 'x', { version: 5 })).rejects.toThrow('connection closed before CONNACK');
  });
});

const peers = requirePeer('mosquitto');

describe.skipIf(!peers)('a v5 round trip through mosquitto', () => {
  afterEach(() => killAll());

  it('delivers a QoS 1 PUBLISH whose payload payloadStart finds, and takes the 4-byte PUBACK', async () => {
    const m = await mosquitto('');
    try {
      const payload = Buffer.alloc(64, 0x62);
      let got: Buffer | undefined;
      let arrived!: () => void;
      const delivered = new Promise<void>((r) => (arrived = r));
      const sub = await openClient(m.port, 'wire-sub', {
        version: 5,
        extra: [subscribePacket(1, 'wire/t', 1, 5)],
        acksWanted: 1,
        onPacket: (type: number, flags: number, buf: Buffer, s: number, e: number) => {
          if (type !== 3) return;
          got = Buffer.from(buf.subarray(payloadStart(flags, buf, s, 5), e));
          arrived();
        },
      });
      let acked!: (id: number) => void;
      const puback = new Promise<number>((r) => (acked = r));
      const pub = await openClient(m.port, 'wire-pub', {
        version: 5,
        onPacket: (type: number, _f: number, buf: Buffer, s: number) => type === 4 && acked((buf[s]! << 8) | buf[s + 1]!),
      });
      pub.socket.write(publishPacket('wire/t', payload, 1, false, 42, 5).buf);
      expect(await puback).toBe(42);
      await delivered;
      expect(got?.equals(payload)).toBe(true);
      sub.socket.destroy();
      pub.socket.destroy();
    } finally {
      await m.stop();
    }
  });
});
