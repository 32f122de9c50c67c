// Robustness of the decoder against hostile input: random bytes, truncated and corrupted valid
// packets, fed whole and in random chunks. push() must never throw, report at most one error,
// finish quickly, and not depend on how the input was chunked.
// MIDGE_FUZZ_ITERATIONS sets the iteration count (npm run test:fuzz runs 200000);
// MIDGE_SEED replays a failure.

import { describe, it, expect } from 'vitest';
import { Decoder } from '../../src/codec/decoder.ts';
import { encode } from '../../src/codec/encoder.ts';
import type { Packet } from '../../src/codec/packets.ts';
import { bool, chunks, hostile, int, mulberry32, norm, testSeed } from './gen.ts';

const ITERATIONS = Number(process.env.MIDGE_FUZZ_ITERATIONS ?? 5000);
/** Per feed; generous for a slow 2-core board under a parallel test run. */
const MAX_FEED_MS = 500;

interface Outcome {
  packets: Packet[];
  rules: string[];
  thrown: unknown;
  ms: number;
}

function feed(parts: Buffer[], maxPacketSize?: number): Outcome {
  const packets: Packet[] = [];
  const rules: string[] = [];
  const d = new Decoder((p) => packets.push(p), (e) => rules.push(e.rule), maxPacketSize);
  let thrown: unknown = undefined;
  const t0 = performance.now();
  for (const c of parts) {
    try {
      d.push(c);
    } catch (e) {
      thrown ??= e;
    }
  }
  return { packets, rules, thrown, ms: performance.now() - t0 };
}

describe('decoder fuzz', () => {
  it(`survives ${ITERATIONS} hostile inputs, whole and chunked, with identical results`, { timeout: Math.max(20_000, ITERATIONS * 2) }, () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const fail = (i: number, input: Buffer, msg: string): never => {
      throw new Error(`[seed ${seed}; rerun with MIDGE_SEED=${seed}] iteration ${i}: ${msg}\ninput: ${input.toString('hex')}`);
    };
    let decodedSome = 0;
    let rejectedSome = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = hostile(rng);
      const max = bool(rng, 0.1) ? int(rng, 0, 64) : undefined;
      const whole = feed([input], max);
      const split = feed(chunks(rng, input), max);
      for (const o of [whole, split]) {
        if (o.thrown !== undefined) fail(i, input, `push() threw ${String(o.thrown)}`);
        if (o.rules.length > 1) fail(i, input, `onError called ${o.rules.length} times`);
        if (o.ms > MAX_FEED_MS) fail(i, input, `feed took ${o.ms.toFixed(1)} ms`);
      }
      if (whole.rules.join() !== split.rules.join()) fail(i, input, `errors differ: ${whole.rules} vs ${split.rules}`);
      if (JSON.stringify(norm(whole.packets)) !== JSON.stringify(norm(split.packets))) fail(i, input, 'packets differ whole vs chunked');
      // Whatever decodes must survive a round trip through the encoder.
      for (const p of whole.packets) {
        const again = feed([encode(p)]);
        if (again.rules.length > 0 || JSON.stringify(norm(again.packets)) !== JSON.stringify(norm([p]))) {
          fail(i, input, `round trip changed ${JSON.stringify(norm(p))}`);
        }
      }
      if (whole.packets.length > 0) decodedSome++;
      if (whole.rules.length > 0) rejectedSome++;
    }
    // The inputs exercise both sides.
    expect(decodedSome).toBeGreaterThan(ITERATIONS / 10);
    expect(rejectedSome).toBeGreaterThan(ITERATIONS / 10);
  });

  it('rejects a 200 MB remaining length at once when maxPacketSize is 1 MB', () => {
    const rules: string[] = [];
    const d = new Decoder(() => {}, (e) => rules.push(e.rule), 1 << 20);
    const rem = 200 * 1024 * 1024;
    const header = Buffer.from([0x30, (rem & 0x7f) | 0x80, ((rem >>> 7) & 0x7f) | 0x80, ((rem >>> 14) & 0x7f) | 0x80, rem >>> 21]);
    d.push(header); // just the header: no body byte is needed to decide
    expect(rules).toEqual(['packet-too-large']);
    expect(d.failed).toBe(true);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) d.push(Buffer.alloc(64 * 1024)); // ignored, not buffered
    expect(performance.now() - t0).toBeLessThan(MAX_FEED_MS);
    expect(rules).toHaveLength(1);
  });

  it('rejects an oversized length split across chunks as soon as the header completes', () => {
    const rules: string[] = [];
    const d = new Decoder(() => {}, (e) => rules.push(e.rule), 1 << 20);
    d.push(Buffer.from([0x30, 0x80]));
    d.push(Buffer.from([0x80]));
    expect(rules).toEqual([]);
    d.push(Buffer.from([0x80, 0x01])); // 2^21 = 2 MB
    expect(rules).toEqual(['packet-too-large']);
  });

  it('waits for a large body without growing per byte (1 MB of a 200 MB PUBLISH)', () => {
    const out: Packet[] = [];
    const rules: string[] = [];
    const d = new Decoder((p) => out.push(p), (e) => rules.push(e.rule));
    const rem = 200 * 1024 * 1024;
    d.push(Buffer.from([0x30, (rem & 0x7f) | 0x80, ((rem >>> 7) & 0x7f) | 0x80, ((rem >>> 14) & 0x7f) | 0x80, rem >>> 21, 0x00, 0x01, 0x74]));
    const t0 = performance.now();
    for (let i = 0; i < 16; i++) d.push(Buffer.alloc(64 * 1024));
    expect(performance.now() - t0).toBeLessThan(MAX_FEED_MS);
    expect(out).toEqual([]);
    expect(rules).toEqual([]);
  });
});
