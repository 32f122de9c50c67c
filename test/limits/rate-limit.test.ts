// The log lines' rate limit (src/util/rate-limit.ts): a flood of events logs a few lines.
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/util/rate-limit.ts';

/** The 1-based events (or values) for which `due` says to log. */
function logged(values: (number | undefined)[], gap?: number): number[] {
  const due = rateLimit();
  return values.flatMap((x, i) => (due(x, gap) ? [x ?? i + 1] : []));
}

describe('rateLimit', () => {
  it('counting: the first event, then one per 1000', () => {
    expect(logged(new Array(3500).fill(undefined))).toEqual([1, 1001, 2001, 3001]);
  });

  it('a running total that jumps: the first, then once it has grown by 1000 since the last line', () => {
    expect(logged([2, 3, 900, 1001, 1002, 1500, 2003, 2003, 5000])).toEqual([2, 1002, 2003, 5000]);
  });

  it('broker seconds with gap 1: at most one line a second, again after the clock steps back', () => {
    expect(logged([100, 100, 101, 101, 101, 103, 99, 99], 1)).toEqual([100, 101, 103, 99]);
  });
});
