// The onoff driver's wiring, with onoff's Gpio class replaced by a recorder: onoff itself needs a
// real /sys/class/gpio and its epoll add-on refuses the regular files of a fake sysfs tree.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { loadOnoff, onoffDriver, type GpioClass, type GpioLike } from '../../src/features/gpio/onoff.ts';
import type { Level } from '../../src/features/gpio/pin.ts';

class Recorder implements GpioLike {
  static made: Recorder[] = [];
  value = 0;
  writes: Level[] = [];
  cb: ((err: Error | null | undefined, v: number) => void) | undefined;
  calls: string[] = [];
  readonly args: unknown[];
  constructor(...args: unknown[]) {
    this.args = args;
    Recorder.made.push(this);
  }
  readSync(): number {
    return this.value;
  }
  writeSync(v: Level): void {
    this.writes.push(v);
  }
  watch(cb: (err: Error | null | undefined, v: number) => void): void {
    this.cb = cb;
  }
  unwatchAll(): void {
    this.calls.push('unwatchAll');
  }
  unexport(): void {
    this.calls.push('unexport');
  }
}

describe('onoff driver', () => {
  it('opens the sysfs number with the chip base and the right direction, edge and first level', async () => {
    Recorder.made = [];
    const pins = parseConfigText(
      'gpio GPIO17 in topic=a board=pi-zero\ngpio PIN12 out topic=b board=pi-zero-2 failsafe=1\ngpio 23 out topic=c\ngpio GPIO4 out topic=d board=pi-zero base=571\n',
      'g.conf',
    ).gpio!;
    expect(pins.map((p) => p.number)).toEqual([529, 530, 23, 575]);
    const errors: string[] = [];
    const d = onoffDriver(Recorder as unknown as GpioClass, (spec, err) => errors.push(`${spec.number} ${err.message}`));
    const input = await d.open({ number: 529, direction: 'in', initial: 0 });
    await d.open({ number: 530, direction: 'out', initial: 1 });
    const out = await d.open({ number: 23, direction: 'out', initial: 0 });
    expect(Recorder.made.map((r) => r.args)).toEqual([
      [529, 'in', 'both'],
      [530, 'high'],
      [23, 'low'],
    ]);
    const [gin, , gout] = Recorder.made;
    gin.value = 1;
    expect(input.read()).toBe(1);
    const seen: Level[] = [];
    input.watch((l) => seen.push(l));
    gin.cb!(null, 0);
    gin.cb!(null, 1);
    gin.cb!(new Error('EBADF'), 0);
    expect(seen).toEqual([0, 1]);
    expect(errors).toEqual(['529 EBADF']);
    out.write(1);
    expect(gout.writes).toEqual([1]);
    input.close();
    expect(gin.calls).toEqual(['unwatchAll', 'unexport']);
  });
});

describe('loading onoff', () => {
  it('without /sys/class/gpio: says why, does not throw', async () => {
    expect(await loadOnoff('/nonexistent/gpio')).toEqual({ why: expect.stringContaining('has no /nonexistent/gpio') });
  });

  it('with a sysfs directory: imports the installed onoff (optional dependency) and finds its Gpio class', async () => {
    // Any existing directory passes the check; onoff itself touches sysfs only when a pin opens.
    const r = await loadOnoff('/tmp');
    expect('Gpio' in r && typeof r.Gpio).toBe('function');
  });
});
