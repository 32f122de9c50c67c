// `serial NAME DEVICE [key=value]...` lines: defaults, every key, and errors as file:line: reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { findDevice } from '../../src/features/serial/device.ts';
import { configError } from '../helpers/config.ts';

const parse = (text: string) => parseConfigText(text, 'm.conf');
const err = (text: string): string => configError(text, 'm.conf');

describe('serial config', () => {
  it('defaults: 115200 baud, mqttsn-slip', () => {
    const cfg = parse('serial nano /dev/ttyACM0\n');
    expect(cfg.serial).toEqual([
      { name: 'nano', device: '/dev/ttyACM0', baud: 115200, framing: 'mqttsn-slip', prefix: '', qos: 0, retain: false, subscribe: [], maxLine: 1024 },
    ]);
  });

  it('line mode with every key; several links; auto devices', () => {
    const cfg = parse(
      'serial a auto framing=line baud=9600 prefix=home/a/ qos=1 retain=true subscribe=cmd/a/# subscribe=all maxline=256\n' +
        'serial b auto:2341:0043 framing=mqttsn\nserial c auto:1A86:7523\n',
    );
    expect(cfg.serial?.[0]).toEqual({
      name: 'a', device: 'auto', baud: 9600, framing: 'line', prefix: 'home/a/', qos: 1, retain: true, subscribe: ['cmd/a/#', 'all'], maxLine: 256,
    });
    expect(cfg.serial?.map((s) => [s.device, s.framing])).toEqual([['auto', 'line'], ['auto:2341:0043', 'mqttsn'], ['auto:1a86:7523', 'mqttsn-slip']]);
  });

  it.each([
    ['serial\n', "m.conf:1: option 'serial' needs a name and a device (serial NAME DEVICE [key=value]...)"],
    ['serial x\n', "m.conf:1: option 'serial' needs a name and a device (serial NAME DEVICE [key=value]...)"],
    ['serial x ttyUSB0\n', "m.conf:1: serial device 'ttyUSB0' is not a path, 'auto' or 'auto:VID:PID' (USB ids, 4 hex digits each)"],
    ['serial x /dev/a\nserial x /dev/b\n', "m.conf:2: duplicate serial link 'x'"],
    ['serial a/b /dev/a\n', "m.conf:1: serial link name 'a/b' may hold only letters, digits, '_', '.' and '-'"],
    ['serial x /dev/a framing=xml\n', "m.conf:1: option 'serial framing' needs mqttsn-slip, mqttsn or line, got 'xml'"],
    ['serial x /dev/a baud=fast\n', "m.conf:1: option 'serial baud' needs an integer, got 'fast'"],
    ['serial x /dev/a speed=9600\n', "m.conf:1: serial link 'x': unknown setting 'speed=9600' (expected key=value, key one of baud, framing, prefix, qos, retain, maxline, subscribe, sensor)"],
    ['serial x /dev/a 9600\n', "m.conf:1: serial link 'x': unknown setting '9600' (expected key=value, key one of baud, framing, prefix, qos, retain, maxline, subscribe, sensor)"],
    ['serial x /dev/a baud=9600 baud=4800\n', "m.conf:1: serial link 'x': 'baud' given twice"],
    ['serial x /dev/a prefix=a/\n', "m.conf:1: serial link 'x': 'prefix' applies to framing=line only"],
    ['serial x /dev/a framing=line prefix=a/#/\n', "m.conf:1: serial link 'x': prefix 'a/#/' holds a wildcard"],
    ['serial x /dev/a framing=line subscribe=a/#/b\n', expect.stringMatching(/^m\.conf:1: serial link 'x': subscribe 'a\/#\/b': /)],
    ['serial x /dev/a framing=line qos=3\n', expect.stringMatching(/^m\.conf:1: option 'serial qos'/)],
  ])('%j is refused', (text, message) => {
    expect(err(text)).toEqual(message);
  });

  it('auto finds no device without crashing where sysfs lists none; a path is used as given', () => {
    expect(findDevice('/dev/ttyX9')).toBe('/dev/ttyX9');
    const found = findDevice('auto:ffff:fffe');
    expect(found).toBeUndefined();
    const any = findDevice('auto');
    if (any !== undefined) expect(any).toMatch(/^\/dev\/tty(ACM|USB)\d+$/);
  });
});

describe('serial defaults of a board', () => {
  it("the launcher passes the board's serial paths; `auto` takes the first that exists", async () => {
    const { launcherScript, loadBoard, loadProfile } = await import('../../scripts/build.mjs');
    const sh = launcherScript(loadBoard('pi-zero'), loadProfile('gateway'));
    expect(sh).toContain("export MIDGE_SERIAL_DEFAULTS='/dev/ttyACM0 /dev/ttyUSB0 /dev/serial0'\n");
    const dir = mkdtempSync(join(tmpdir(), 'midge-serial-auto-'));
    const saved = process.env.MIDGE_SERIAL_DEFAULTS;
    try {
      writeFileSync(join(dir, 'ttyB'), '');
      process.env.MIDGE_SERIAL_DEFAULTS = `${join(dir, 'ttyA')} ${join(dir, 'ttyB')}`;
      expect(findDevice('auto')).toBe(join(dir, 'ttyB'));
      // auto:VID:PID is by USB ids only.
      expect(findDevice('auto:ffff:fffe')).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.MIDGE_SERIAL_DEFAULTS;
      else process.env.MIDGE_SERIAL_DEFAULTS = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
