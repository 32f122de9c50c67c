// `auto` devices: the USB serial ttys the kernel lists in sysfs. SerialPort.list() is not used: it
// spawns udevadm, which OpenWrt and containers lack (the spawn error would take the broker down).
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/** USB `vid:pid` (lower-case hex) of the device behind a tty, or undefined. */
function usbIds(sysDir: string): string | undefined {
  let d: string;
  try {
    d = realpathSync(sysDir);
  } catch {
    return undefined;
  }
  // ttyACM's device is the USB interface, ttyUSB's is one level below it: walk up to the device.
  for (let i = 0; i < 4 && d !== '/'; i++, d = dirname(d)) {
    try {
      const vid = readFileSync(`${d}/idVendor`, 'utf8').trim();
      const pid = readFileSync(`${d}/idProduct`, 'utf8').trim();
      return `${vid}:${pid}`.toLowerCase();
    } catch {
      // not the USB device yet
    }
  }
  return undefined;
}

/**
 * The device path for a link's DEVICE word: a path as given; `auto` the first existing path of
 * the board's defaults (MIDGE_SERIAL_DEFAULTS, set by the board's launcher), else the first USB
 * serial tty (ttyACM*, then ttyUSB*); `auto:VID:PID` the first whose USB ids match. Undefined when
 * none is plugged in (the link retries later).
 */
export function findDevice(spec: string): string | undefined {
  if (spec.startsWith('/')) return spec;
  const want = spec.slice(5);
  // The board's default serial paths, which the launcher passes on (boards/*.json `serial`).
  if (!want) {
    const first = process.env.MIDGE_SERIAL_DEFAULTS?.split(' ').find((p) => p && existsSync(p));
    if (first) return first;
  }
  let names: string[];
  try {
    names = readdirSync('/sys/class/tty').filter((n) => /^tty(ACM|USB)\d+$/.test(n)).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    if (want && usbIds(`/sys/class/tty/${n}/device`) !== want) continue;
    if (existsSync(`/dev/${n}`)) return `/dev/${n}`;
  }
  return undefined;
}
