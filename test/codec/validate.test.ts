import { describe, it, expect } from 'vitest';
import { checkUtf8, topicFilterError, topicNameError } from '../../src/codec/validate.ts';

describe('topicNameError', () => {
  it.each(['a', '/', 'a/b', '/a/b/', 'a//b', '$SYS/x', 'é/€/😀', ' ', 'a b'])('accepts %j', (t) => {
    expect(topicNameError(t)).toBe(null);
  });
  it('[MQTT-4.7.3-1] rejects an empty topic name', () => {
    expect(topicNameError('')).toBe('MQTT-4.7.3-1');
  });
  it.each(['+', '#', 'a/+', 'a/#', 'a+b', 'a#', '+/a', 'sport/tennis/#'])('[MQTT-3.3.2-2] rejects wildcard in %j', (t) => {
    expect(topicNameError(t)).toBe('MQTT-3.3.2-2');
  });
});

describe('topicFilterError', () => {
  it.each(['a', '#', '+', '/', '+/+', '/+', '+/', 'a/#', 'a/+/b', '+/#', 'sport/tennis/+', 'a//#', '$SYS/#', '//', 'é/+/😀'])(
    'accepts %j',
    (f) => {
      expect(topicFilterError(f)).toBe(null);
    },
  );
  it('[MQTT-4.7.3-1] rejects an empty filter', () => {
    expect(topicFilterError('')).toBe('MQTT-4.7.3-1');
  });
  it.each(['a#', '#/a', 'a/#/b', 'a/b#', '##', '#/', '/#a', '#+'])('[MQTT-4.7.1-2] rejects misplaced # in %j', (f) => {
    expect(topicFilterError(f)).toBe('MQTT-4.7.1-2');
  });
  it.each(['a+', '+a', 'a/b+/c', '++', 'a/+b', '+#'])('[MQTT-4.7.1-3] rejects + not alone in its level in %j', (f) => {
    expect(topicFilterError(f)).toBe('MQTT-4.7.1-3');
  });
});

describe('checkUtf8', () => {
  const check = (b: number[] | Buffer, start = 0, end?: number) => {
    const buf = Buffer.from(b);
    return checkUtf8(buf, start, end ?? buf.length);
  };
  it('accepts ASCII, multi-byte and empty strings', () => {
    expect(check(Buffer.from('hello'))).toBe(null);
    expect(check(Buffer.from('héllo €𝄞'))).toBe(null);
    expect(check([])).toBe(null);
    expect(check(Buffer.from('x'.repeat(1000) + 'é'))).toBe(null);
  });
  it('[MQTT-1.5.3-1] rejects ill-formed sequences and surrogates', () => {
    expect(check([0xff])).toBe('MQTT-1.5.3-1');
    expect(check([0x80])).toBe('MQTT-1.5.3-1');
    expect(check([0xc3])).toBe('MQTT-1.5.3-1');
    expect(check([0xc0, 0x80])).toBe('MQTT-1.5.3-1'); // overlong U+0000
    expect(check([0xed, 0xa0, 0x80])).toBe('MQTT-1.5.3-1'); // U+D800
    expect(check([0xed, 0xbf, 0xbf])).toBe('MQTT-1.5.3-1'); // U+DFFF
    expect(check([0xf4, 0x90, 0x80, 0x80])).toBe('MQTT-1.5.3-1'); // > U+10FFFF
    expect(check(Buffer.concat([Buffer.alloc(200, 0x61), Buffer.from([0xed, 0xa0, 0x80])]))).toBe('MQTT-1.5.3-1');
  });
  it('[MQTT-1.5.3-2] rejects U+0000', () => {
    expect(check([0])).toBe('MQTT-1.5.3-2');
    expect(check([0x61, 0, 0x61])).toBe('MQTT-1.5.3-2');
    expect(check(Buffer.concat([Buffer.from('é'.repeat(100)), Buffer.from([0])]))).toBe('MQTT-1.5.3-2');
  });
  it('checks only the given range', () => {
    const b = [0x00, 0x61, 0x62, 0xff];
    expect(check(b, 1, 3)).toBe(null);
    expect(check(b, 0, 3)).toBe('MQTT-1.5.3-2');
    expect(check(b, 1, 4)).toBe('MQTT-1.5.3-1');
    // Long range: the native path must not look past `end` either.
    const long = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0, 0xff])]);
    expect(checkUtf8(long, 0, 100)).toBe(null);
  });
});
