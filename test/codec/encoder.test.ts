import { describe, it, expect } from 'vitest';
import {
  DISCONNECT_BYTES,
  PINGREQ_BYTES,
  PINGRESP_BYTES,
  encode,
  encodeAck,
  encodePublish,
  remainingLengthBytes,
} from '../../src/codec/encoder.ts';
import { VECTORS, hex } from './vectors.ts';

describe('encode', () => {
  for (const [name, bytes, packet] of VECTORS) {
    it(`encodes ${name} byte-exactly`, () => {
      expect(encode(packet).toString('hex')).toBe(hex(bytes).toString('hex'));
    });
  }

  it('uses 1, 2, 3 and 4 remaining length bytes at the boundaries', () => {
    for (const [payloadLen, header] of [
      [127 - 3, '30 7f'],
      [128 - 3, '30 80 01'],
      [16383 - 3, '30 ff 7f'],
      [16384 - 3, '30 80 80 01'],
      [2097151 - 3, '30 ff ff 7f'],
      [2097152 - 3, '30 80 80 80 01'],
    ] as const) {
      const b = encodePublish('t', Buffer.alloc(payloadLen), 0, false, false, 0);
      expect(b.subarray(0, hex(header).length).toString('hex')).toBe(hex(header).toString('hex'));
      expect(b.length).toBe(hex(header).length + payloadLen + 3);
    }
  });

  it('encodePublish writes multi-byte topics by byte length', () => {
    const b = encodePublish('é€😀', Buffer.from('x'), 1, true, true, 0x1234);
    expect(b.toString('hex')).toBe(hex(`3b 0e 0009 c3a9 e282ac f09f9880 1234 78`).toString('hex'));
  });

  it('encodeAck sets PUBREL flags to 0b0010', () => {
    expect(encodeAck(4, 0x0102).toString('hex')).toBe('40020102');
    expect(encodeAck(5, 1).toString('hex')).toBe('50020001');
    expect(encodeAck(6, 1).toString('hex')).toBe('62020001');
    expect(encodeAck(7, 1).toString('hex')).toBe('70020001');
    expect(encodeAck(11, 0xffff).toString('hex')).toBe('b002ffff');
  });

  it('has constant packets', () => {
    expect(PINGREQ_BYTES.toString('hex')).toBe('c000');
    expect(PINGRESP_BYTES.toString('hex')).toBe('d000');
    expect(DISCONNECT_BYTES.toString('hex')).toBe('e000');
  });

  it('remainingLengthBytes', () => {
    expect([0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455].map(remainingLengthBytes)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('refuses string fields over 65535 bytes instead of corrupting the framing', () => {
    expect(() => encodePublish('a'.repeat(65536), Buffer.alloc(0), 0, false, false, 0)).toThrow(RangeError);
    expect(() => encodePublish('é'.repeat(32768), Buffer.alloc(0), 0, false, false, 0)).toThrow(RangeError);
    expect(encodePublish('a'.repeat(65535), Buffer.alloc(0), 0, false, false, 0).length).toBe(1 + 3 + 2 + 65535);
  });
});
