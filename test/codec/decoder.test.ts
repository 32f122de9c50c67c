import { describe, it, expect } from 'vitest';
import { Decoder } from '../../src/codec/decoder.ts';
import { encode } from '../../src/codec/encoder.ts';
import { ProtocolError } from '../../src/codec/packets.ts';
import type { ConnectPacket, Packet } from '../../src/codec/packets.ts';
import { chunks, mulberry32, norm, testSeed } from './gen.ts';
import { MQISDP, MQTT, VECTORS, hex, str } from './vectors.ts';

/** A packet from a first byte and a body (hex); the remaining length is computed. */
const pkt = (first: string, body: string): Buffer => {
  const b = hex(body);
  if (b.length > 127) throw new Error('pkt() builds short packets only');
  return Buffer.concat([hex(first), Buffer.from([b.length]), b]);
};

function decode(input: Buffer | Buffer[], maxPacketSize?: number) {
  const packets: Packet[] = [];
  const errors: ProtocolError[] = [];
  const d = new Decoder((p) => packets.push(p), (e) => errors.push(e), maxPacketSize);
  for (const c of Array.isArray(input) ? input : [input]) d.push(c);
  return { packets, errors, decoder: d };
}

/** Decodes `bytes` expecting exactly one error with `rule`, whole and one byte at a time. */
function expectRule(bytes: Buffer, rule: string): ProtocolError {
  const whole = decode(bytes);
  expect(whole.errors.map((e) => e.rule)).toEqual([rule]);
  expect(whole.errors[0]).toBeInstanceOf(ProtocolError);
  const bytewise = decode([...bytes].map((b) => Buffer.from([b])));
  expect(bytewise.errors.map((e) => e.rule)).toEqual([rule]);
  return whole.errors[0];
}

function expectOne(bytes: Buffer): Packet {
  const { packets, errors } = decode(bytes);
  expect(errors).toEqual([]);
  expect(packets).toHaveLength(1);
  return packets[0];
}

describe('Decoder: packet types', () => {
  for (const [name, bytes, want] of VECTORS) {
    it(`decodes ${name}`, () => {
      expect(expectOne(hex(bytes))).toEqual(want);
    });
  }

  it('decodes a PUBLISH with a 2-byte remaining length', () => {
    const payload = Buffer.alloc(200, 7);
    const buf = Buffer.concat([hex('30 cb 01 0001 74'), payload]); // 0xcb 0x01 = 203
    const p = expectOne(buf);
    expect(p).toEqual({ type: 3, dup: false, qos: 0, retain: false, topic: 't', packetId: 0, payload });
  });

  it('decodes a PUBLISH with a 3-byte remaining length', () => {
    const payload = Buffer.alloc(20000, 9);
    const rem = 3 + 20000; // 20003 = 0x4e23 -> a3 9c 01
    expect(rem).toBe(0xa3 - 0x80 + (0x9c - 0x80) * 128 + 1 * 16384);
    const p = expectOne(Buffer.concat([hex('30 a3 9c 01 0001 74'), payload]));
    expect(p.type === 3 && p.payload.equals(payload)).toBe(true);
  });

  it('accepts a non-minimal remaining length encoding', () => {
    // 3.1.1 has no minimal-encoding rule (MQTT 5 added one); 0x82 0x00 = 2.
    expect(expectOne(hex('40 82 00 0001'))).toEqual({ type: 4, packetId: 1 });
  });

  it('MQTT 3.1: username flag set but username omitted is accepted', () => {
    // MQTT 3.1 §3.1: the remaining length takes precedence over the User Name/Password flags.
    const p = expectOne(hex(`10 11 ${MQISDP} 03 c2 003c 0003 636964`));
    expect(p).toEqual({ type: 1, protocolName: 'MQIsdp', protocolLevel: 3, clean: true, keepalive: 60, clientId: 'cid' });
    const q = expectOne(hex(`10 14 ${MQISDP} 03 c2 003c 0003 636964 0001 75`));
    expect(q).toMatchObject({ username: 'u' });
    expect(q.type === 1 && q.password).toBe(undefined);
  });

  it('keeps a BOM (U+FEFF) in a topic', () => {
    const p = expectOne(hex(`30 07 ${str('\ufeffa')} 00`));
    expect(p.type === 3 && p.topic).toBe('\ufeffa');
  });

  it('decodes many packets from one chunk in order', () => {
    const all = Buffer.concat(VECTORS.map(([, b]) => hex(b)));
    const { packets, errors } = decode(all);
    expect(errors).toEqual([]);
    expect(packets).toEqual(VECTORS.map(([, , p]) => p));
  });
});

describe('Decoder: chunking', () => {
  const stream = Buffer.concat([
    ...VECTORS.map(([, b]) => hex(b)),
    encode({ type: 3, dup: false, qos: 1, retain: false, topic: 'big', packetId: 9, payload: Buffer.alloc(20000, 3) }),
    hex('c0 00'),
  ]);
  const reference = decode(stream);

  it('decodes the reference stream', () => {
    expect(reference.errors).toEqual([]);
    expect(reference.packets).toHaveLength(VECTORS.length + 2);
  });

  it('gives identical packets one byte at a time', () => {
    const r = decode([...stream].map((b) => Buffer.from([b])));
    expect(r.errors).toEqual([]);
    expect(norm(r.packets)).toEqual(norm(reference.packets));
  });

  it('gives identical packets at random split points', () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    for (let i = 0; i < 200; i++) {
      const r = decode(chunks(rng, stream));
      expect(r.errors, `seed=${seed} i=${i}`).toEqual([]);
      expect(norm(r.packets), `seed=${seed} i=${i}`).toEqual(norm(reference.packets));
    }
  });

  it('gives identical packets for every single split point', () => {
    for (let cut = 1; cut < stream.length; cut += cut < 400 ? 1 : 997) {
      const r = decode([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(norm(r.packets), `cut=${cut}`).toEqual(norm(reference.packets));
    }
  });

  it('ignores empty chunks', () => {
    const r = decode([Buffer.alloc(0), hex('c0'), Buffer.alloc(0), hex('00'), Buffer.alloc(0)]);
    expect(r.packets).toEqual([{ type: 12 }]);
  });

  it('a PUBLISH in one chunk has a payload sharing memory with the chunk', () => {
    const bytes = hex('30 0a 0003 612f62 6869 6a6b 6c'); // payload "hijkl"
    const chunk = Buffer.alloc(bytes.length + 4); // unpooled, so a copy could not share it
    hex('c0 00').copy(chunk, 0);
    bytes.copy(chunk, 2);
    hex('c0 00').copy(chunk, 2 + bytes.length);
    const { packets } = decode(chunk);
    expect(packets).toHaveLength(3);
    const p = packets[1];
    if (p.type !== 3) throw new Error('expected PUBLISH');
    expect(p.payload.toString()).toBe('hijkl');
    expect(p.payload.buffer).toBe(chunk.buffer);
    expect(p.payload.byteOffset).toBe(chunk.byteOffset + 2 + 7);
  });

  it('a PUBLISH whose header alone is split still gets a zero-copy payload', () => {
    const bytes = hex('30 0a 0003 612f62 6869 6a6b 6c');
    const rest = Buffer.alloc(bytes.length - 1);
    bytes.copy(rest, 0, 1);
    const { packets } = decode([bytes.subarray(0, 1), rest]);
    const p = packets[0];
    expect(p.type === 3 && p.payload.buffer === rest.buffer).toBe(true);
  });
});

describe('Decoder: errors', () => {
  it('reports only the first error and ignores later input', () => {
    const { packets, errors, decoder } = decode([hex('c0 00 00 00 c0 00'), hex('c0 00')]);
    expect(packets).toEqual([{ type: 12 }]);
    expect(errors.map((e) => e.rule)).toEqual(['MQTT-2.2.1']);
    expect(decoder.failed).toBe(true);
  });

  it('stops when onPacket sets failed (e.g. after DISCONNECT)', () => {
    const packets: Packet[] = [];
    const d = new Decoder(
      (p) => {
        packets.push(p);
        if (p.type === 14) d.failed = true;
      },
      () => {},
    );
    d.push(hex('c0 00 e0 00 c0 00'));
    expect(packets).toEqual([{ type: 12 }, { type: 14 }]);
  });

  it('lets an exception thrown by onPacket reach the caller and stops decoding', () => {
    const errors: ProtocolError[] = [];
    const d = new Decoder(
      () => {
        throw new Error('handler bug');
      },
      (e) => errors.push(e),
    );
    expect(() => d.push(hex('c0 00'))).toThrow('handler bug');
    expect(d.failed).toBe(true);
    d.push(hex('c0 00'));
    expect(errors).toEqual([]);
  });

  it('carries the rule in the message', () => {
    const e = expectRule(hex('00 00'), 'MQTT-2.2.1');
    expect(e.message).toMatch(/^\[MQTT-2\.2\.1\] /);
  });

  it('[MQTT-2.2.1] rejects packet type 0', () => {
    expectRule(hex('00 00'), 'MQTT-2.2.1');
  });
  it('[MQTT-2.2.1] rejects packet type 15', () => {
    expectRule(hex('f0 00'), 'MQTT-2.2.1');
  });
  it('[MQTT-2.2.1] rejects a reserved type as soon as its first byte arrives', () => {
    expect(decode(hex('f0')).errors.map((e) => e.rule)).toEqual(['MQTT-2.2.1']);
  });

  it('[MQTT-2.2.2-2] rejects reserved flag bits on every non-PUBLISH type', () => {
    const bodies: Record<number, string> = { 1: `0d ${MQTT} 04 02 003c 0001 61`, 2: '02 0000', 4: '02 0001', 5: '02 0001', 7: '02 0001', 9: '03 0001 00', 11: '02 0001', 12: '00', 13: '00', 14: '00' };
    for (const [type, body] of Object.entries(bodies)) {
      for (const flags of [1, 2, 4, 8]) {
        expectRule(hex(((Number(type) << 4) | flags).toString(16) + body), 'MQTT-2.2.2-2');
      }
    }
  });
  it('[MQTT-3.6.1-1] rejects PUBREL with flags other than 0b0010', () => {
    expectRule(pkt('60', '0001'), 'MQTT-3.6.1-1');
    expectRule(pkt('6a', '0001'), 'MQTT-3.6.1-1');
  });
  it('[MQTT-3.8.1-1] rejects SUBSCRIBE with flags other than 0b0010', () => {
    expectRule(pkt('80', '0001 0001 61 00'), 'MQTT-3.8.1-1');
    expectRule(pkt('8a', '0001 0001 61 00'), 'MQTT-3.8.1-1');
  });
  it('[MQTT-3.10.1-1] rejects UNSUBSCRIBE with flags other than 0b0010', () => {
    expectRule(pkt('a0', '0001 0001 61'), 'MQTT-3.10.1-1');
    expectRule(pkt('a3', '0001 0001 61'), 'MQTT-3.10.1-1');
  });

  it('[MQTT-2.2.3] rejects a remaining length encoded in more than 4 bytes', () => {
    expectRule(hex('30 ff ff ff ff 01'), 'MQTT-2.2.3');
    // ...as soon as the fourth length byte has its continuation bit set.
    expect(decode(hex('30 80 80 80 80')).errors.map((e) => e.rule)).toEqual(['MQTT-2.2.3']);
  });
  it('accepts the largest 4-byte remaining length header', () => {
    const { errors } = decode(hex('30 ff ff ff 7f 0001 61'));
    expect(errors).toEqual([]);
  });
  it('[packet-too-large] rejects a remaining length above maxPacketSize from the header alone', () => {
    const ok = decode(hex('30 80 08 0001 61'), 1024); // 1024 exactly: fine, waits for the body
    expect(ok.errors).toEqual([]);
    const { errors } = decode(hex('30 81 08'), 1024); // 1025
    expect(errors.map((e) => e.rule)).toEqual(['packet-too-large']);
    expect(errors[0].message).toMatch(/1025.*1024/);
  });

  it('[MQTT-3.3.1-4] rejects PUBLISH with QoS 3', () => {
    expectRule(pkt('36', '0003 612f62 0001'), 'MQTT-3.3.1-4');
  });
  it('[MQTT-3.3.1-2] rejects PUBLISH with DUP set and QoS 0', () => {
    expectRule(pkt('38', '0003 612f62'), 'MQTT-3.3.1-2');
  });
  it('[MQTT-3.3.2-2] rejects a PUBLISH topic name with wildcards', () => {
    expectRule(hex(`30 05 ${str('a/+')}`), 'MQTT-3.3.2-2');
    expectRule(hex(`30 05 ${str('a/#')}`), 'MQTT-3.3.2-2');
    expectRule(hex(`30 05 ${str('a#b')}`), 'MQTT-3.3.2-2');
  });
  it('[MQTT-4.7.3-1] rejects PUBLISH with an empty topic name', () => {
    expectRule(pkt('30', '0000 6869'), 'MQTT-4.7.3-1');
  });

  it('[MQTT-2.3.1-1] rejects packet identifier 0 where one is required', () => {
    expectRule(pkt('32', '0003 612f62 0000'), 'MQTT-2.3.1-1'); // PUBLISH QoS 1
    expectRule(pkt('34', '0003 612f62 0000'), 'MQTT-2.3.1-1'); // PUBLISH QoS 2
    expectRule(pkt('40', '0000'), 'MQTT-2.3.1-1');
    expectRule(pkt('50', '0000'), 'MQTT-2.3.1-1');
    expectRule(pkt('62', '0000'), 'MQTT-2.3.1-1');
    expectRule(pkt('70', '0000'), 'MQTT-2.3.1-1');
    expectRule(pkt('82', '0000 0001 61 00'), 'MQTT-2.3.1-1');
    expectRule(pkt('90', '0000 00'), 'MQTT-2.3.1-1');
    expectRule(pkt('a2', '0000 0001 61'), 'MQTT-2.3.1-1');
    expectRule(pkt('b0', '0000'), 'MQTT-2.3.1-1');
  });

  describe('UTF-8 string fields', () => {
    // Each builder puts the raw string bytes `s` (hex, with length prefix) into one field.
    const fields: [string, (s: string) => string][] = [
      ['topic name', (s) => `30 ${len(s)} ${s}`],
      ['client id', (s) => `10 ${len(`${MQTT} 04 02 003c ${s}`)} ${MQTT} 04 02 003c ${s}`],
      ['will topic', (s) => `10 ${len(`${MQTT} 04 06 003c 0001 61 ${s} 0000`)} ${MQTT} 04 06 003c 0001 61 ${s} 0000`],
      ['username', (s) => `10 ${len(`${MQTT} 04 82 003c 0001 61 ${s}`)} ${MQTT} 04 82 003c 0001 61 ${s}`],
      ['protocol name', (s) => `10 ${len(`${s} 04 02 003c 0001 61`)} ${s} 04 02 003c 0001 61`],
      ['SUBSCRIBE filter', (s) => `82 ${len(`0001 ${s} 00`)} 0001 ${s} 00`],
      ['UNSUBSCRIBE filter', (s) => `a2 ${len(`0001 ${s}`)} 0001 ${s}`],
    ];
    function len(h: string): string {
      return (h.replace(/\s+/g, '').length / 2).toString(16).padStart(2, '0');
    }
    const bad: [string, string][] = [
      ['0xff byte', '0003 61ff61'],
      ['a lone continuation byte', '0002 8061'],
      ['an encoded surrogate U+D800', '0004 eda08061'],
      ['an overlong encoding', '0003 c0af61'],
      ['a code point above U+10FFFF', '0005 f490808061'],
      ['a truncated sequence', '0002 61e2'],
    ];
    for (const [field, build] of fields) {
      for (const [what, s] of bad) {
        it(`[MQTT-1.5.3-1] rejects ${what} in the ${field}`, () => {
          expectRule(hex(build(s)), 'MQTT-1.5.3-1');
        });
      }
      it(`[MQTT-1.5.3-2] rejects U+0000 in the ${field}`, () => {
        expectRule(hex(build('0003 610061')), 'MQTT-1.5.3-2');
      });
      it(`[MQTT-1.5.3-1] checks long strings (native path) in the ${field}`, () => {
        const longBad = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xed, 0xbf, 0xbf])]);
        expectRule(hex(build(`${longBad.length.toString(16).padStart(4, '0')}${longBad.toString('hex')}`)), 'MQTT-1.5.3-1');
        const longNul = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from('é\0')]);
        expectRule(hex(build(`${longNul.length.toString(16).padStart(4, '0')}${longNul.toString('hex')}`)), 'MQTT-1.5.3-2');
      });
    }
  });

  describe('CONNECT', () => {
    it('[MQTT-3.1.2-1] rejects an unknown protocol name', () => {
      expectRule(pkt('10', `0004 4d515458 04 02 003c 0001 61`), 'MQTT-3.1.2-1'); // "MQTX"
      expectRule(pkt('10', `0004 6d717474 04 02 003c 0001 61`), 'MQTT-3.1.2-1'); // "mqtt"
    });
    it('[MQTT-3.1.2-2] rejects MQTT with level != 4 (or 5 with MQTT5) asking for CONNACK 1', () => {
      for (const level of ['03', '06', '83', '85', '00']) {
        const e = expectRule(pkt('10', `${MQTT} ${level} 02 003c 0001 61`), 'MQTT-3.1.2-2');
        expect(e.connackCode).toBe(1);
      }
    });
    it("accepts Mosquitto's bridge levels (try_private: level | 0x80) and passes the level on", () => {
      const seen: number[] = [];
      const d = new Decoder((p) => seen.push((p as ConnectPacket).protocolLevel), (e) => { throw e; });
      d.push(pkt('10', `${MQTT} 84 02 003c 0001 61`));
      d.push(pkt('10', `${MQISDP} 83 02 003c 0001 61`));
      expect(seen).toEqual([0x84, 0x83]);
    });
    it('[MQTT-3.1.2-2] rejects MQIsdp with level != 3 asking for CONNACK 1', () => {
      const e = expectRule(pkt('10', `${MQISDP} 04 02 003c 0001 61`), 'MQTT-3.1.2-2');
      expect(e.connackCode).toBe(1);
    });
    it('accepts an MQTT 5 CONNECT (level 5, with properties) when built with MQTT5', () => {
      // Without MQTT5 it gets CONNACK 1: test/build/mqtt5-off.test.ts runs the minimal bundle.
      const p = expectOne(pkt('10', `${MQTT} 05 02 003c 03 210005 0001 61`)) as ConnectPacket;
      expect(p.protocolLevel).toBe(5);
      expect(p.properties).toEqual({ receiveMaximum: 5 });
    });
    it('[MQTT-3.1.2-3] rejects the reserved connect flag', () => {
      expectRule(pkt('10', `${MQTT} 04 03 003c 0001 61`), 'MQTT-3.1.2-3');
    });
    it('[MQTT-3.1.2-13] rejects will QoS without the will flag', () => {
      expectRule(pkt('10', `${MQTT} 04 0a 003c 0001 61`), 'MQTT-3.1.2-13');
      expectRule(pkt('10', `${MQTT} 04 12 003c 0001 61`), 'MQTT-3.1.2-13');
    });
    it('[MQTT-3.1.2-14] rejects will QoS 3', () => {
      expectRule(pkt('10', `${MQTT} 04 1e 003c 0001 61 0001 74 0000`), 'MQTT-3.1.2-14');
    });
    it('[MQTT-3.1.2-15] rejects will retain without the will flag', () => {
      expectRule(pkt('10', `${MQTT} 04 22 003c 0001 61`), 'MQTT-3.1.2-15');
    });
    it('[MQTT-3.1.2-22] rejects the password flag without the username flag', () => {
      expectRule(pkt('10', `${MQTT} 04 42 003c 0001 61 0002 7071`), 'MQTT-3.1.2-22');
      expectRule(pkt('10', `${MQISDP} 03 40 003c 0001 61`), 'MQTT-3.1.2-22');
    });
    it('[MQTT-3.3.2-2] rejects a will topic with wildcards', () => {
      expectRule(pkt('10', `${MQTT} 04 06 003c 0001 61 0002 612b 0000`), 'MQTT-3.3.2-2');
      expectRule(pkt('10', `${MQTT} 04 06 003c 0001 61 0001 23 0000`), 'MQTT-3.3.2-2');
    });
    it('[MQTT-4.7.3-1] rejects an empty will topic', () => {
      expectRule(pkt('10', `${MQTT} 04 06 003c 0001 61 0000 0000`), 'MQTT-4.7.3-1');
    });
    it('[MQTT-4.8.0-1] rejects a missing username, password, will topic or will message', () => {
      expectRule(pkt('10', `${MQTT} 04 82 003c 0001 61`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 c2 003c 0001 61 0001 75`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 06 003c 0001 61`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 06 003c 0001 61 0001 74`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 02 003c`), 'MQTT-4.8.0-1'); // no client id
    });
    it('[MQTT-4.8.0-1] rejects a truncated field or trailing bytes', () => {
      expectRule(pkt('10', `${MQTT} 04 02 003c 0002 61`), 'MQTT-4.8.0-1'); // client id runs past the end
      expectRule(pkt('10', `${MQTT} 04 02 003c 0001 61 00`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 c2 003c 0001 61 0000 0003 7071`), 'MQTT-4.8.0-1');
      expectRule(pkt('10', `${MQTT} 04 02`), 'MQTT-4.8.0-1'); // no keep alive
      expectRule(pkt('10', `${MQTT}`), 'MQTT-4.8.0-1'); // no level
      expectRule(pkt('10', '00'), 'MQTT-4.8.0-1');
      expectRule(hex('10 00'), 'MQTT-4.8.0-1');
    });
  });

  describe('SUBSCRIBE / SUBACK / UNSUBSCRIBE', () => {
    it('[MQTT-3.8.3-3] rejects SUBSCRIBE without filters', () => {
      expectRule(pkt('82', '0001'), 'MQTT-3.8.3-3');
    });
    it('[MQTT-3-8.3-4] rejects a requested QoS byte with reserved bits or QoS 3', () => {
      expectRule(pkt('82', '0001 0001 61 03'), 'MQTT-3-8.3-4');
      expectRule(pkt('82', '0001 0001 61 04'), 'MQTT-3-8.3-4');
      expectRule(pkt('82', '0001 0001 61 80'), 'MQTT-3-8.3-4');
      expectRule(pkt('82', '0001 0001 61 00 0001 62 41'), 'MQTT-3-8.3-4');
    });
    it('[MQTT-4.7.1-2] rejects a misplaced # in a SUBSCRIBE filter', () => {
      expectRule(pkt('82', `0001 ${str('a/#/')} 00`), 'MQTT-4.7.1-2');
      expectRule(pkt('82', `0001 ${str('a#')} 00`), 'MQTT-4.7.1-2');
    });
    it('[MQTT-4.7.1-3] rejects a + not filling its level in a SUBSCRIBE filter', () => {
      expectRule(pkt('82', `0001 ${str('a/b+')} 00`), 'MQTT-4.7.1-3');
    });
    it('[MQTT-4.7.3-1] rejects an empty SUBSCRIBE filter', () => {
      expectRule(pkt('82', '0001 0000 00'), 'MQTT-4.7.3-1');
    });
    it('[MQTT-4.8.0-1] rejects a SUBSCRIBE filter without its QoS byte', () => {
      expectRule(pkt('82', '0001 0001 61'), 'MQTT-4.8.0-1');
      expectRule(pkt('82', '0001 0001 61 00 0001 62'), 'MQTT-4.8.0-1');
    });
    it('[MQTT-3.10.3-2] rejects UNSUBSCRIBE without filters', () => {
      expectRule(pkt('a2', '0001'), 'MQTT-3.10.3-2');
    });
    it('[MQTT-4.7.1-2] / [MQTT-4.7.1-3] / [MQTT-4.7.3-1] check UNSUBSCRIBE filters too', () => {
      expectRule(pkt('a2', `0001 ${str('#/a')}`), 'MQTT-4.7.1-2');
      expectRule(pkt('a2', `0001 ${str('++')}`), 'MQTT-4.7.1-3');
      expectRule(pkt('a2', '0001 0000'), 'MQTT-4.7.3-1');
    });
    it('[MQTT-4.8.0-1] rejects a truncated UNSUBSCRIBE filter', () => {
      expectRule(pkt('a2', '0001 0002 61'), 'MQTT-4.8.0-1');
      expectRule(pkt('a2', '0001 00'), 'MQTT-4.8.0-1');
    });
    it('[MQTT-3.9.3-2] rejects SUBACK return codes other than 0, 1, 2, 0x80', () => {
      for (const c of ['03', '7f', '81', 'ff']) expectRule(pkt('90', `0001 00 ${c}`), 'MQTT-3.9.3-2');
    });
    it('[MQTT-4.8.0-1] rejects SUBACK without return codes', () => {
      expectRule(pkt('90', '0001'), 'MQTT-4.8.0-1');
    });
  });

  it('[MQTT-3.2.2-1] rejects CONNACK with reserved acknowledge flags', () => {
    expectRule(pkt('20', '02 00'), 'MQTT-3.2.2-1');
    expectRule(pkt('20', '81 00'), 'MQTT-3.2.2-1');
  });

  it('[MQTT-4.8.0-1] rejects fixed-size packets with the wrong remaining length', () => {
    for (const h of ['40 03 0001 00', '40 01 00', '50 00', '62 04 0001 0001', '70 03 0001 00', 'b0 03 0001 00', '20 03 0000 00', '20 01 00']) {
      expectRule(hex(h), 'MQTT-4.8.0-1');
    }
    for (const h of ['c0 01 00', 'd0 01 00', 'e0 01 00']) expectRule(hex(h), 'MQTT-4.8.0-1');
  });
  it('[MQTT-4.8.0-1] rejects a wrong fixed size from the header, without waiting for the body', () => {
    expect(decode(hex('c0 ff ff 7f')).errors.map((e) => e.rule)).toEqual(['MQTT-4.8.0-1']);
  });
  it('[MQTT-4.8.0-1] rejects a PUBLISH too short for its topic or packet id', () => {
    expectRule(pkt('30', '00'), 'MQTT-4.8.0-1');
    expectRule(hex('30 00'), 'MQTT-4.8.0-1');
    expectRule(pkt('30', '0003 61 62'), 'MQTT-4.8.0-1');
    expectRule(pkt('32', '0003 612f62'), 'MQTT-4.8.0-1');
    expectRule(pkt('32', '0003 612f62 00'), 'MQTT-4.8.0-1');
  });
});
