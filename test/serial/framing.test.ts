// The serial framers, fed directly: split frames, noise, device resets, over-long input.
import { describe, expect, it } from 'vitest';
import { LineDecoder, SlipDecoder, slipEncode, SnStreamDecoder } from '../../src/features/serial/framing.ts';

const b = (...x: number[]): Buffer => Buffer.from(x);

function slipAll(d: SlipDecoder, ...chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) d.push(c, (f) => out.push(f.toString('hex')));
  return out;
}

describe('SLIP (mqttsn-slip)', () => {
  it('escapes END and ESC and round-trips every byte value', () => {
    const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const enc = slipEncode(data);
    expect(enc[0]).toBe(0xc0);
    expect(enc[enc.length - 1]).toBe(0xc0);
    expect(enc.subarray(1, -1).includes(0xc0)).toBe(false);
    expect(slipAll(new SlipDecoder(300), enc)).toEqual([data.toString('hex')]);
    expect(slipEncode(b(0xc0, 0xdb)).toString('hex')).toBe('c0dbdcdbddc0');
  });

  it('reassembles a frame split at every byte, including between ESC and its code', () => {
    const enc = slipEncode(b(4, 0x0c, 0xc0, 0xdb));
    const d = new SlipDecoder(64);
    expect(slipAll(d, ...[...enc].map((x) => b(x)))).toEqual(['040cc0db']);
  });

  it('drops noise before a frame, empty frames, bad escapes and over-long frames, and recovers', () => {
    const d = new SlipDecoder(8);
    const out = slipAll(
      d,
      b(0x11, 0x22), // noise, then the leading END of the next frame flushes it as a "frame"...
      slipEncode(b(2, 0x16)),
      b(0xc0, 0xc0), // empty frames: ignored
      b(0xc0, 1, 0xdb, 0x55, 2, 0xc0), // bad escape: dropped
      slipEncode(Buffer.alloc(9, 7)), // longer than max: dropped
      slipEncode(b(2, 0x17)),
    );
    // Noise without an END before it is indistinguishable from a frame: the MQTT-SN decoder then
    // rejects it. Here it arrives as the frame '1122'.
    expect(out).toEqual(['1122', '0216', '0217']);
    expect(d.dropped).toBe(2);
  });

  it('a device reset mid-frame: the partial frame is lost, the next frame comes through', () => {
    const d = new SlipDecoder(64);
    const enc = slipEncode(b(5, 0x0c, 1, 2, 3));
    expect(slipAll(d, enc.subarray(0, 3), slipEncode(b(2, 0x16)))).toEqual(['050c', '0216']);
  });
});

describe('bare length-prefixed MQTT-SN (mqttsn)', () => {
  function run(d: SnStreamDecoder, ...chunks: [Buffer, number][]): string[] {
    const out: string[] = [];
    for (const [c, t] of chunks) d.push(c, t, (p) => out.push(p.toString('hex')));
    return out;
  }

  it('frames packets by their Length field, split or back to back', () => {
    const d = new SnStreamDecoder(512, 100);
    const pingreq = b(2, 0x16);
    const pub = b(7, 0x0c, 0, 0, 1, 0, 0x41);
    expect(run(d, [Buffer.concat([pingreq, pub.subarray(0, 3)]), 0], [pub.subarray(3), 5], [pingreq, 6])).toEqual([
      '0216', '070c0000010041', '0216',
    ]);
  });

  it('reads the 3-byte length form (0x01 + 2 bytes) for packets of 256 bytes or more', () => {
    const d = new SnStreamDecoder(1024, 100);
    const p = Buffer.alloc(300, 0x41);
    p[0] = 1;
    p.writeUInt16BE(300, 1);
    p[3] = 0x0c;
    expect(run(d, [p.subarray(0, 100), 0], [p.subarray(100), 1])).toEqual([p.toString('hex')]);
  });

  it('resync: an impossible length (0, 1+short, above max) is skipped a byte at a time', () => {
    const d = new SnStreamDecoder(64, 100);
    // 0x00 and 0xff (> max 64) are impossible lengths; 01 00 00 is the long form of a short length.
    expect(run(d, [b(0x00, 0xff, 0x01, 0x00, 0x00, 2, 0x16), 0])).toEqual(['0216']);
    expect(d.dropped).toBeGreaterThanOrEqual(3);
  });

  it('resync: a gap longer than gapMs inside a packet drops the partial packet (device reset)', () => {
    const d = new SnStreamDecoder(64, 100);
    const out = run(d, [b(7, 0x0c, 0), 0], [b(2, 0x16), 500], [b(3, 0x18, 0), 501]);
    expect(out).toEqual(['0216', '031800']);
    expect(d.dropped).toBe(1);
  });

  it("a forwarder's encapsulated packet (MQTT-SN 5.5) is its header's Length plus its message's, split anywhere", () => {
    const d = new SnStreamDecoder(512, 100);
    const enc = b(5, 0xfe, 0, 0x1a, 0x2b, 7, 0x0c, 0, 0, 1, 0, 0x41); // node 1a2b, PUBLISH
    const long = Buffer.concat([b(4, 0xfe, 1, 0x09), b(1, 1, 4, 0x0c, 0, 0, 1, 0), Buffer.alloc(252, 0x42)]); // 3-byte inner length
    const stream = Buffer.concat([enc, b(2, 0x16), long, enc]);
    for (let cut = 1; cut < stream.length; cut += 7) {
      expect(run(d, [stream.subarray(0, cut), cut], [stream.subarray(cut), cut])).toEqual([
        enc.toString('hex'), '0216', long.toString('hex'), enc.toString('hex'),
      ]);
    }
    expect(d.dropped).toBe(0);
    // A header whose message cannot be (length 0, or the whole over max) loses its first byte.
    const small = new SnStreamDecoder(64, 100);
    // 03 fe 00 | 00: a message of length 0. 04 fe 00 00 | 01 00 00: the 3-byte form of length 0.
    expect(run(small, [b(3, 0xfe, 0, 0, 2, 0x16, 4, 0xfe, 0, 0, 1, 0, 0), 0], [b(2, 0x16), 1])).toEqual(['0216', '0216']);
    expect(small.dropped).toBe(11);
  });

  it('no gap rule between packets: an idle link does not count as a drop', () => {
    const d = new SnStreamDecoder(64, 100);
    expect(run(d, [b(2, 0x16), 0], [b(2, 0x16), 10_000])).toEqual(['0216', '0216']);
    expect(d.dropped).toBe(0);
  });
});

describe('text lines (line)', () => {
  function lines(d: LineDecoder, ...chunks: Buffer[]): string[] {
    const out: string[] = [];
    for (const c of chunks) d.push(c, (l) => out.push(l));
    return out;
  }

  it('splits on LF and CRLF, across chunks', () => {
    const d = new LineDecoder(64);
    expect(lines(d, Buffer.from('a/b 1\r\nc'), Buffer.from('=2\n'), Buffer.from('\n'))).toEqual(['a/b 1', 'c=2', '']);
  });

  it('drops and counts an over-long line, then reads the next one', () => {
    const d = new LineDecoder(8);
    expect(lines(d, Buffer.from('0123456789abcdef\nt 1\n'))).toEqual(['t 1']);
    expect(d.dropped).toBe(1);
  });

  it('drops and counts a line that is not UTF-8 (noise, wrong baud rate)', () => {
    const d = new LineDecoder(64);
    expect(lines(d, b(0xff, 0xfe, 0x80, 0x0a), Buffer.from('t é\n'))).toEqual(['t é']);
    expect(d.dropped).toBe(1);
  });
});
