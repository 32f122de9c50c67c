// An in-memory Pin driver for tests: physical levels held in memory, edges injected by the test.
import type { Level, Pin, PinDriver, PinSpec } from '../../src/features/gpio/pin.ts';

export class FakePin implements Pin {
  level: Level;
  /** Every level written, in order. */
  readonly writes: Level[] = [];
  closed = false;
  private watchers: ((l: Level) => void)[] = [];

  constructor(readonly spec: PinSpec) {
    this.level = spec.direction === 'out' ? spec.initial : 0;
  }

  read(): Level {
    return this.level;
  }

  write(level: Level): void {
    if (this.spec.direction !== 'out') throw new Error('write to an input');
    this.level = level;
    this.writes.push(level);
  }

  watch(fn: (l: Level) => void): void {
    this.watchers.push(fn);
  }

  close(): void {
    this.closed = true;
    this.watchers = [];
  }

  /** The line changes physical level: an edge, as the kernel reports it. */
  edge(level: Level): void {
    this.level = level;
    for (const w of this.watchers) w(level);
  }
}

export class FakeDriver implements PinDriver {
  readonly name = 'fake';
  readonly pins = new Map<number, FakePin>();
  /** Physical levels of inputs before they are opened. */
  constructor(private readonly preset: Record<number, Level> = {}, private readonly refuse: number[] = []) {}

  open(spec: PinSpec): FakePin {
    if (this.refuse.includes(spec.number)) throw Object.assign(new Error('write EINVAL'), { code: 'EINVAL' });
    const p = new FakePin(spec);
    if (spec.direction === 'in' && this.preset[spec.number] !== undefined) p.level = this.preset[spec.number];
    this.pins.set(spec.number, p);
    return p;
  }

  pin(n: number): FakePin {
    const p = this.pins.get(n);
    if (!p) throw new Error(`pin ${n} not open`);
    return p;
  }
}
