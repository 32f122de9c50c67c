// MQTT 5 codec: differential against mqtt-packet (protocolVersion 5) both ways, byte-exact
// vectors, malformed properties with the reason code the server must disconnect with, and a
// hostile-input fuzz of a decoder in MQTT 5 mode. MIDGE_SEED replays a failure.

import { describe, it, expect } from 'vitest';
import mqttPacket from 'mqtt-packet';
import type { Packet as MpPacket } from 'mqtt-packet';
import { Decoder } from '../../src/codec/decoder.ts';
import { encode, encode5, encodePublish5 } from '../../src/codec/encoder.ts';
import type { ConnectPacket, Packet, ProtocolError, PublishPacket } from '../../src/codec/packets.ts';
import { encodeProps } from '../../src/codec/properties.ts';
import { reasonFor } from '../../src/codec/reasons.ts';
import { bytes, chunks, int, seeded } from './gen.ts';
import { fromMp5, norm5, randomPacket5, toMp5 } from './gen5.ts';

const COUNT = 2000;
const BATCH = 50;
const CONNECT5 = encode({ type: 1, protocolName: 'MQTT', protocolLevel: 5, clean: true, keepalive: 60, clientId: 'c', properties: {} });

/** A decoder already switched to MQTT 5 by a level 5 CONNECT; returns what follows it. */
function decode5(input: Buffer | Buffer[]) {
  const packets: Packet[] = [];
  const errors: ProtocolError[] = [];
  const d = new Decoder((p) => packets.push(p), (e) => errors.push(e));
  d.push(CONNECT5);
  for (const c of Array.isArray(input) ? input : [input]) d.push(c);
  return { packets: packets.slice(1), errors, decoder: d };
}


describe('MQTT 5 differential against mqtt-packet', () => {
  it('our encode5 -> mqtt-packet parser (v5) gives the same fields', seeded((rng) => {
    for (let i = 0; i < COUNT; i++) {
      const p = randomPacket5(rng);
      // The spec allows AUTH without reason code and properties (remaining length 0); mqtt-packet's
      // parser refuses it ("Invalid auth reason code"). Our decoder's side is covered below.
      if (p.type === 15 && encode5(p).length === 2) continue;
      const parsed: MpPacket[] = [];
      const errors: unknown[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (m) => parsed.push(m));
      parser.on('error', (e) => errors.push(e));
      parser.parse(encode5(p));
      expect(errors, `packet ${i}: ${JSON.stringify(norm5(p))}`).toEqual([]);
      expect(parsed, `packet ${i}`).toHaveLength(1);
      expect(norm5(fromMp5(parsed[0])), `packet ${i}`).toEqual(norm5(p));
    }
  }));

  it('mqtt-packet generate (v5) -> our decoder (random chunks) gives the same fields', seeded((rng) => {
    for (let b = 0; b < COUNT / BATCH; b++) {
      // CONNECT only first: it is what switches our decoder to MQTT 5.
      const batch: Packet[] = [];
      while (batch.length < BATCH) {
        const p = randomPacket5(rng);
        if (p.type !== 1) batch.push(p);
      }
      const stream = Buffer.concat(batch.map((p) => mqttPacket.generate(toMp5(p), { protocolVersion: 5 })));
      const { packets, errors } = decode5(chunks(rng, stream));
      expect(errors, `batch ${b}`).toEqual([]);
      expect(norm5(packets), `batch ${b}`).toEqual(norm5(batch));
    }
  }));

  it('mqtt-packet generate (v5) CONNECT -> our decoder', seeded((rng) => {
    let n = 0;
    while (n < 300) {
      const p = randomPacket5(rng);
      if (p.type !== 1) continue;
      n++;
      const packets: Packet[] = [];
      const d = new Decoder((x) => packets.push(x), (e) => { throw e; });
      d.push(mqttPacket.generate(toMp5(p), { protocolVersion: 5 }));
      expect(norm5(packets)).toEqual(norm5([p]));
      expect(d.v5).toBe(true);
    }
  }));

  it('our encode5 -> our decoder round-trips, user properties in exact order with duplicates', seeded((rng) => {
    for (let b = 0; b < COUNT / BATCH; b++) {
      const batch: Packet[] = [];
      while (batch.length < BATCH) {
        const p = randomPacket5(rng);
        if (p.type !== 1) batch.push(p);
      }
      const { packets, errors } = decode5(chunks(rng, Buffer.concat(batch.map(encode5))));
      expect(errors, `batch ${b}`).toEqual([]);
      expect(norm5(packets, false), `batch ${b}`).toEqual(norm5(batch, false));
    }
  }));

  it('the generator covers every packet type and every property', seeded((rng) => {
    const types = new Set<number>();
    const props = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      const p = randomPacket5(rng);
      types.add(p.type);
      for (const k of Object.keys((p as { properties?: object }).properties ?? {})) props.add(k);
      for (const k of Object.keys((p as ConnectPacket).will?.properties ?? {})) props.add(k);
    }
    expect(types.size).toBe(15);
    expect(props.size).toBe(27);
  }));
});

describe('MQTT 5 vectors', () => {
  it('CONNACK with receiveMaximum and user properties in order', () => {
    const b = encode5({ type: 2, sessionPresent: false, returnCode: 0, properties: { receiveMaximum: 20, userProperties: [['b', '1'], ['a', '2'], ['b', '3']] } });
    expect(b.toString('hex')).toBe('201b' + '0000' + '18' + '210014' + '2600016200013126000161000132260001620001' + '33');
  });
  it('PUBLISH with pre-encoded properties plus per-subscriber ones', () => {
    const props = encodeProps({ contentType: 'a' });
    const extra = encodeProps({ subscriptionIdentifier: [300] });
    const b = encodePublish5('t', Buffer.from('x'), 1, false, false, 7, props, extra);
    expect(b.toString('hex')).toBe('320e' + '000174' + '0007' + '07' + '03000161' + '0bac02' + '78');
    const { packets } = decode5(b);
    expect((packets[0] as PublishPacket).properties).toEqual({ contentType: 'a', subscriptionIdentifier: [300] });
  });
  it('[MQTT-3.4.2-1] a PUBACK with reason 0 and no properties is 2 bytes; remaining length 2 decodes as reason 0', () => {
    expect(encode5({ type: 4, packetId: 1, reasonCode: 0 }).toString('hex')).toBe('40020001');
    expect(encode5({ type: 4, packetId: 1, reasonCode: 0x10 }).toString('hex')).toBe('4003000110');
    expect(decode5(Buffer.from('40020001', 'hex')).packets).toEqual([{ type: 4, packetId: 1, reasonCode: 0 }]);
    expect(decode5(Buffer.from('e000', 'hex')).packets).toEqual([{ type: 14, reasonCode: 0 }]);
  });
  it('DISCONNECT 0x04 and AUTH', () => {
    expect(encode5({ type: 14, reasonCode: 4 }).toString('hex')).toBe('e00104');
    expect(encode5({ type: 15, reasonCode: 0x18, properties: { authenticationMethod: 'm' } }).toString('hex')).toBe('f0061804150001' + '6d');
  });
  it('SUBSCRIBE options byte: QoS, No Local, Retain As Published, Retain Handling', () => {
    const b = encode5({ type: 8, packetId: 2, subscriptions: [{ topic: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }] });
    expect(b.toString('hex')).toBe('8207000200' + '000161' + '2d');
  });
  it('a 3.1.1 decoder after a 3.1.1 CONNECT still rejects AUTH [MQTT-2.2.1]', () => {
    const errors: string[] = [];
    const d = new Decoder(() => {}, (e) => errors.push(e.rule));
    d.push(encode({ type: 1, protocolName: 'MQTT', protocolLevel: 4, clean: true, keepalive: 0, clientId: 'a' }));
    d.push(Buffer.from('f000', 'hex'));
    expect(errors).toEqual(['MQTT-2.2.1']);
  });
});

/** After a v5 CONNECT, `hex` must fail with `rule` and reason code `reason`. */
function expectBad(hex: string, rule: string, reason: number): void {
  const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
  for (const input of [bytes, [...bytes].map((x) => Buffer.from([x]))]) {
    const { errors, packets } = decode5(input);
    expect(packets).toEqual([]);
    expect(errors.map((e) => e.rule)).toEqual([rule]);
    expect(reasonFor(errors[0])).toBe(reason);
  }
}

describe('MQTT 5 malformed packets and their reason codes', () => {
  it('[MQTT5-2.2.2.2] a repeated property is a protocol error (0x82)', () => {
    expectBad('30 0c 0001 74 07 0101 0101 03000161 78'.replace('07 0101 0101 03000161', '08 0101 0101 03000161'), 'MQTT5-2.2.2.2', 0x82);
  });
  it('[MQTT5-2.2.2.2] a property in the wrong packet (session expiry in PUBLISH, receive maximum in DISCONNECT) is malformed (0x81)', () => {
    // §2.2.2.2: "an Identifier which is not valid for its packet type ... is a Malformed Packet".
    expectBad('30 09 0001 74 05 1100000001 78', 'MQTT-4.8.0-1', 0x81);
    expectBad('e0 05 00 03 210000', 'MQTT-4.8.0-1', 0x81);
  });
  it('[MQTT-1.5.4-1] bad UTF-8 in a user property is malformed (0x81)', () => {
    expectBad('30 0c 0001 74 07 26 0001 ff 0001 61 78', 'MQTT-1.5.3-1', 0x81);
  });
  it('[MQTT-4.8.0-1] a property length past the packet is malformed (0x81)', () => {
    expectBad('30 05 0001 74 09 01', 'MQTT-4.8.0-1', 0x81);
  });
  it('[MQTT-4.8.0-1] a property value past the property length is malformed (0x81)', () => {
    expectBad('30 07 0001 74 02 0200 0000', 'MQTT-4.8.0-1', 0x81);
  });
  it('[MQTT5-2.2.2.2] subscription identifier 0 is a protocol error (0x82)', () => {
    expectBad('82 09 0001 02 0b00 0001 61 00', 'MQTT5-2.2.2.2', 0x82);
  });
  it('[MQTT5-2.2.2.2] payload format 2 is a protocol error (0x82)', () => {
    expectBad('30 07 0001 74 02 0102 78', 'MQTT5-2.2.2.2', 0x82);
  });
  it('[MQTT-4.8.0-1] an unknown property identifier is malformed (0x81)', () => {
    expectBad('30 07 0001 74 02 7f00 78', 'MQTT-4.8.0-1', 0x81);
  });
  it('[MQTT-1.5.5-1] an overlong variable byte integer is malformed (0x81)', () => {
    expectBad('30 07 0001 74 8000 78 78', 'MQTT-4.8.0-1', 0x81);
  });
  it('[MQTT-3.8.3-5] reserved subscription option bits are malformed (0x81)', () => {
    expectBad('82 07 0001 00 0001 61 c0', 'MQTT-3.8.3-5', 0x81);
  });
  it('[MQTT5-3.8.3.1] retain handling 3 and QoS 3 are protocol errors (0x82)', () => {
    expectBad('82 07 0001 00 0001 61 30', 'MQTT5-3.8.3.1', 0x82);
    expectBad('82 07 0001 00 0001 61 03', 'MQTT5-3.8.3.1', 0x82);
  });
  it('[MQTT-3.3.2-1] an empty topic name without a topic alias is a protocol error (0x82)', () => {
    expectBad('30 04 0000 00 78', 'MQTT-3.3.2-1', 0x82);
  });
  it('[packet-too-large] is 0x95', () => {
    const errors: ProtocolError[] = [];
    const d = new Decoder(() => {}, (e) => errors.push(e), 10);
    d.push(CONNECT5.subarray(0, 2));
    expect(errors.map(reasonFor)).toEqual([0x95]);
  });
});

describe('MQTT 5 decoder fuzz', () => {
  it('survives hostile v5 input (mutated valid packets), whole and chunked alike', seeded((rng) => {
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const ps: Buffer[] = [];
      for (let n = int(rng, 1, 3); n > 0; n--) {
        const p = randomPacket5(rng);
        if (p.type !== 1) ps.push(encode5(p));
      }
      const s = Buffer.concat(ps);
      if (s.length === 0) continue;
      for (let n = int(rng, 0, 3); n > 0; n--) s[int(rng, 0, s.length - 1)] = int(rng, 0, 255);
      const input = int(rng, 0, 4) === 0 ? Buffer.concat([s, bytes(rng, int(rng, 1, 20))]) : s;
      const whole = decode5(input);
      const split = decode5(chunks(rng, input));
      expect(whole.errors.length).toBeLessThanOrEqual(1);
      expect(whole.errors.map((e) => e.rule)).toEqual(split.errors.map((e) => e.rule));
      expect(JSON.stringify(norm5(whole.packets, false))).toBe(JSON.stringify(norm5(split.packets, false)));
      for (const e of whole.errors) expect([0x81, 0x82, 0x90, 0x94, 0x95]).toContain(reasonFor(e));
      // Whatever decodes survives a round trip.
      for (const p of whole.packets) {
        const again = decode5(encode5(p));
        expect(again.errors).toEqual([]);
        expect(norm5(again.packets, false)).toEqual(norm5([p], false));
      }
      decoded += whole.packets.length;
    }
    expect(decoded).toBeGreaterThan(1000);
  }));
});
