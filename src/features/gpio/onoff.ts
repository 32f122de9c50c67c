// The `onoff` driver: sysfs GPIO (/sys/class/gpio), edges through onoff's epoll add-on. onoff is a
// native optional dependency, loaded only when pins are configured.
import { existsSync } from 'node:fs';
import type { Level, Pin, PinDriver, PinSpec } from './pin.ts';

/** The part of onoff's Gpio class the driver uses (injected in tests: no hardware here). */
export interface GpioLike {
  readSync(): number;
  writeSync(v: Level): void;
  watch(cb: (err: Error | null | undefined, v: number) => void): void;
  unwatchAll(): void;
  unexport(): void;
}
export type GpioClass = new (gpio: number, direction: 'in' | 'high' | 'low', edge?: 'both') => GpioLike;

export function onoffDriver(Gpio: GpioClass, onError: (spec: PinSpec, err: Error) => void): PinDriver {
  return {
    name: 'onoff',
    open(spec: PinSpec): Pin {
      // 'high'/'low' set the direction and the first level in one write: no glitch on a relay.
      const g = spec.direction === 'in' ? new Gpio(spec.number, 'in', 'both') : new Gpio(spec.number, spec.initial ? 'high' : 'low');
      return {
        read: () => (g.readSync() ? 1 : 0),
        write: (v) => g.writeSync(v),
        watch: (fn) =>
          g.watch((err, v) => {
            if (err) onError(spec, err);
            else fn(v ? 1 : 0);
          }),
        close: () => {
          g.unwatchAll();
          g.unexport();
        },
      };
    },
  };
}

/**
 * Loads onoff, or says why it cannot be used (the broker then runs without its pins). Never throws.
 */
export async function loadOnoff(sysfs = '/sys/class/gpio'): Promise<{ Gpio: GpioClass } | { why: string }> {
  if (!existsSync(sysfs)) {
    return { why: `this system has no ${sysfs} (a kernel without the sysfs GPIO interface, or not a board with GPIO)` };
  }
  try {
    const m = (await import('onoff')) as { Gpio?: GpioClass; default?: { Gpio: GpioClass } };
    const Gpio = m.Gpio ?? m.default?.Gpio;
    if (!Gpio) return { why: 'the onoff module has no Gpio class' };
    return { Gpio };
  } catch (err) {
    return {
      why: `cannot load onoff (${(err as Error).message}); install it next to broker.min.js: npm install onoff@6 (its native add-on needs python3, make and g++)`,
    };
  }
}
