// The command line: Mosquitto's -c, -p, -v and -h, and how -p and -v change a configuration.
import { describe, expect, it } from 'vitest';
import { applyCli, parseCli, USAGE } from '../../src/config/cli.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { parseConfigText } from '../../src/config/parse.ts';

const ALL_TYPES = ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe', ...(WS ? ['websockets'] : [])];

describe('parseCli', () => {
  it('no arguments', () => {
    expect(parseCli([])).toEqual({ verbose: false, help: false });
  });

  it('short and long options', () => {
    expect(parseCli(['-c', '/etc/midge.conf', '-p', '1884', '-v'])).toEqual({
      configFile: '/etc/midge.conf',
      port: 1884,
      verbose: true,
      help: false,
    });
    expect(parseCli(['--config-file', 'm.conf', '--port', '1', '--verbose', '--help'])).toEqual({
      configFile: 'm.conf',
      port: 1,
      verbose: true,
      help: true,
    });
    expect(parseCli(['--config-file=m.conf', '--port=65535'])).toMatchObject({ configFile: 'm.conf', port: 65535 });
    expect(parseCli(['-p1884', '-cm.conf'])).toMatchObject({ configFile: 'm.conf', port: 1884 });
    expect(parseCli(['-vh'])).toEqual({ verbose: true, help: true });
    expect(parseCli(['-h'])).toEqual({ verbose: false, help: true });
    expect(parseCli(['--test-config', '-c', 'm.conf'])).toEqual({ verbose: false, help: false, test: true, configFile: 'm.conf' });
    expect(() => parseCli(['--test-config=yes'])).toThrow('--test-config takes no value');
  });

  it('--version (what the .deb and .ipk packages check)', () => {
    expect(parseCli(['--version'])).toEqual({ verbose: false, help: false, version: true });
    expect(() => parseCli(['--version=1'])).toThrow('--version takes no value');
  });

  it('rejects bad ports', () => {
    expect(() => parseCli(['-p'])).toThrow('-p needs a port number');
    expect(() => parseCli(['--port'])).toThrow('--port needs a port number');
    for (const p of ['0', '65536', 'abc', '-1', '1883x', '18.83', '']) {
      expect(() => parseCli(['-p', p])).toThrow(`invalid port '${p}' for -p (allowed 1..65535)`);
    }
    expect(() => parseCli(['-p', '-v'])).toThrow(`invalid port '-v' for -p (allowed 1..65535)`);
    expect(() => parseCli(['-p', '1', '-p', '2'])).toThrow('-p: only one port can be given');
  });

  it('rejects bad config file arguments', () => {
    expect(() => parseCli(['-c'])).toThrow('-c needs a config file name');
    expect(() => parseCli(['--config-file='])).toThrow('--config-file needs a config file name');
    expect(() => parseCli(['-c', 'a', '--config-file', 'b'])).toThrow('--config-file: only one config file can be given');
  });

  it('rejects unknown options, stray arguments and values on flags', () => {
    expect(() => parseCli(['-x'])).toThrow(`unknown option '-x'`);
    expect(() => parseCli(['--conf', 'm.conf'])).toThrow(`unknown option '--conf'`);
    expect(() => parseCli(['m.conf'])).toThrow(`unexpected argument 'm.conf'`);
    expect(() => parseCli(['--', '-v'])).toThrow(`unexpected argument '-v'`);
    expect(() => parseCli(['--verbose=yes'])).toThrow('--verbose takes no value');
    expect(() => parseCli(['--help=1'])).toThrow('--help takes no value');
  });

  it("explains that Mosquitto's -d is not available", () => {
    expect(() => parseCli(['-d'])).toThrow('-d is not supported: run midge in the foreground under a service manager (e.g. systemd)');
    expect(() => parseCli(['--daemon'])).toThrow('--daemon is not supported');
  });
});

describe('USAGE', () => {
  it('shows the synopsis and one line per option', () => {
    expect(USAGE.startsWith('Usage: midge [-c config_file] [-p port] [-v] [--test-config] [-h|--version]\n')).toBe(true);
    for (const o of ['-c, --config-file', '-p, --port', '-v, --verbose', '--test-config', '-h, --help', '--version']) {
      expect(USAGE.split('\n').filter((l) => l.trimStart().startsWith(o))).toHaveLength(1);
    }
    expect(USAGE.endsWith('\n')).toBe(true);
  });
});

describe('applyCli', () => {
  it('changes nothing without -p and -v', () => {
    const cfg = defaultConfig();
    expect(applyCli(cfg, { verbose: false })).toEqual(defaultConfig());
  });

  it('-p moves the loopback listeners of the defaults to the port', () => {
    const cfg = defaultConfig();
    const out = applyCli(cfg, { port: 1884, verbose: false });
    expect(out.listeners.map((l) => [l.host, l.port])).toEqual([
      ['127.0.0.1', 1884],
      ['::1', 1884],
    ]);
    expect(out.defaults).toBe(true);
    expect(out.allowAnonymous).toBe(true);
    // The input is left alone.
    expect(cfg.listeners.map((l) => l.port)).toEqual([1883, 1883]);
  });

  it('-p applies to a config file without listeners (local-only mode), keeping it loopback-only', () => {
    const out = applyCli(parseConfigText('max_connections 5', '/m.conf'), { port: 2000, verbose: false });
    expect(out.listeners.map((l) => [l.host, l.port, l.maxConnections])).toEqual([
      ['127.0.0.1', 2000, 5],
      ['::1', 2000, 5],
    ]);
  });

  it('-p is ignored when the config file defines listeners (as in Mosquitto)', () => {
    for (const text of ['listener 1883', 'port 1885', 'bind_address 0.0.0.0']) {
      const cfg = parseConfigText(text, '/m.conf');
      expect(applyCli(cfg, { port: 2000, verbose: false }).listeners).toEqual(cfg.listeners);
    }
  });

  it('-v selects every log type, overriding log_type', () => {
    expect(applyCli(defaultConfig(), { verbose: true }).logTypes).toEqual(new Set(ALL_TYPES));
    const cfg = parseConfigText('log_type error\nlog_dest stdout', '/m.conf');
    const out = applyCli(cfg, { verbose: true });
    expect(out.logTypes).toEqual(new Set(ALL_TYPES));
    expect(out.logDest).toEqual([{ kind: 'stdout' }]);
    expect(cfg.logTypes).toEqual(new Set(['error']));
    expect(applyCli(parseConfigText('log_type none', '/m.conf'), { verbose: true }).logTypes).toEqual(new Set(ALL_TYPES));
  });

  it('-v does not undo log_dest none', () => {
    const out = applyCli(parseConfigText('log_dest none', '/m.conf'), { verbose: true });
    expect(out.logTypes).toEqual(new Set());
    expect(out.logDest).toEqual([]);
  });

  it('takes the result of parseCli', () => {
    const cli = parseCli(['-p', '1999', '-v']);
    const out = applyCli(defaultConfig(), cli);
    expect(out.listeners.every((l) => l.port === 1999)).toBe(true);
    expect(out.logTypes?.has('debug')).toBe(true);
  });
});
