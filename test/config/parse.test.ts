// The mosquitto.conf parser. These tests run with the flags of test/vitest.config.ts (SYS, AUTH, TLS,
// WS and PERSIST on); the "every feature built" block bundles the parser with all flags true.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEATURE_NAMES,
  FEATURES,
  featureBuilt,
  featureMissingMessage,
  optionOwner,
  type FeatureName,
} from '../../src/config/features.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { allLogTypes, loadConfigFile, parseConfigText } from '../../src/config/parse.ts';
import { ConfigError } from '../../src/config/values.ts';
import type { BrokerConfig } from '../../src/config/types.ts';
import { importWithFlags } from '../helpers/bundled.ts';

const F = '/etc/midge.conf';
const parse = (text: string): BrokerConfig => parseConfigText(text, F);

/** The ConfigError that parsing `text` throws. */
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
const err = (text: string): string => errorOf(() => parse(text)).message;

const ALL_TYPES = ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe'];
/** Every log type of the build under test (test/vitest.config.ts turns WS on). */
const BUILT_TYPES = WS ? [...ALL_TYPES, 'websockets'] : ALL_TYPES;
/** The features test/vitest.config.ts builds in. */
const BUILT: FeatureName[] = ['SYS', 'AUTH', 'TLS', 'WS', 'BRIDGE', 'SN', 'PERSIST', 'SERIAL', 'GPIO', 'HTTP'];

function compiledOut(subject: string, feature: string, profile: string): string {
  const profiles = profile === 'full' ? `'full'` : `'${profile}' or 'full'`;
  return `${subject} needs feature ${feature}, which is not built into this bundle; build profile ${profiles} (npm run build -- --profile ${profile})`;
}

describe('defaultConfig', () => {
  it('listens on loopback only, port 1883, anonymous allowed', () => {
    const c = defaultConfig();
    expect(c.listeners).toEqual([
      { port: 1883, host: '127.0.0.1', protocol: 'mqtt', maxConnections: -1 },
      { port: 1883, host: '::1', protocol: 'mqtt', maxConnections: -1 },
    ]);
    expect(c.allowAnonymous).toBe(true);
    expect(c.defaults).toBe(true);
    expect(c.localOnly).toBe(true);
    expect(c.files).toEqual([]);
  });

  it('has Mosquitto default values', () => {
    const c = defaultConfig();
    expect(c.maxInflightMessages).toBe(20);
    expect(c.maxQueuedMessages).toBe(1000);
    expect(c.messageSizeLimit).toBe(0);
    expect(c.retainAvailable).toBe(true);
    expect(c.sysInterval).toBe(10);
    expect(c.logTypes).toBeUndefined();
    expect(c.logDest).toEqual([]);
    expect(c.persistentClientExpiration).toBe(0);
    expect(c.logDestNone).toBe(false);
  });

  it('returns a fresh object each time', () => {
    const a = defaultConfig();
    a.listeners[0].port = 1;
    a.logDest.push({ kind: 'stdout' });
    expect(defaultConfig().listeners[0].port).toBe(1883);
    expect(defaultConfig().logDest).toEqual([]);
  });
});

describe('syntax', () => {
  it('an empty file is local-only mode: loopback listeners, anonymous allowed', () => {
    const c = parse('');
    expect(c.listeners.map((l) => [l.host, l.port])).toEqual([['127.0.0.1', 1883], ['::1', 1883]]);
    expect(c.localOnly).toBe(true);
    expect(c.allowAnonymous).toBe(true);
    expect(c.defaults).toBe(false);
    expect(c.files).toEqual([F]);
  });

  it('skips comments and blank lines, trims blanks, splits on spaces and tabs', () => {
    const c = parse(
      '# Midge\n\n   \n\t# indented comment\n  listener\t 1884   0.0.0.0  \n#listener 1\n\tmax_connections\t5\t\n',
    );
    expect(c.listeners).toEqual([{ port: 1884, host: '0.0.0.0', protocol: 'mqtt', maxConnections: 5 }]);
  });

  it('accepts CRLF and CR line ends and a byte order mark', () => {
    const c = parse('\uFEFFlistener 1884\r\nmax_connections 3\r\rsys_interval 5\r\n');
    expect(c.listeners[0].maxConnections).toBe(3);
    expect(c.sysInterval).toBe(5);
    expect(err('\uFEFF\r\n\r\nbogus 1\r\n')).toBe(`${F}:3: unknown option 'bogus'`);
  });

  it('counts lines from 1, comments and blank lines included', () => {
    expect(err('# one\n\nlistner 1883\n')).toBe(`${F}:3: unknown option 'listner'`);
  });

  it('option names are case-sensitive', () => {
    expect(err('Listener 1883')).toBe(`${F}:1: unknown option 'Listener'`);
    expect(err('listener 1883\nPROTOCOL mqtt')).toBe(`${F}:2: unknown option 'PROTOCOL'`);
  });

  it('has no trailing comments', () => {
    expect(err('listener 1883 0.0.0.0 # all')).toBe(
      `${F}:1: too many arguments for option 'listener': '# all'; comments must be on a line of their own`,
    );
    expect(err('sys_interval 10 #s')).toBe(
      `${F}:1: too many arguments for option 'sys_interval': '#s'; comments must be on a line of their own`,
    );
  });

  it("refuses Mosquitto's C plugins, naming what Midge offers instead", () => {
    const offer = 'which Midge cannot; use password_file, acl_file or scram_credentials_file (docs/security.md)';
    expect(err('auth_plugin /usr/lib/x.so')).toBe(`${F}:1: option 'auth_plugin' loads a C plugin, ${offer}`);
    expect(err('\nglobal_plugin /usr/lib/x.so')).toBe(`${F}:2: option 'global_plugin' loads a C plugin, ${offer}`);
    expect(err('plugin_opt_db x')).toBe(`${F}:1: option 'plugin_opt_db' loads a C plugin, ${offer}`);
    expect(err('no_such_option 1')).toBe(`${F}:1: unknown option 'no_such_option'`);
  });

  it('ConfigError carries file, line and reason', () => {
    const e = errorOf(() => parse('\n\nfoo'));
    expect(e.file).toBe(F);
    expect(e.line).toBe(3);
    expect(e.reason).toBe(`unknown option 'foo'`);
    expect(e.name).toBe('ConfigError');
    expect(e).toBeInstanceOf(Error);
  });
});

describe('listeners', () => {
  it('listener PORT [BIND_ADDRESS] starts a listener block', () => {
    const c = parse('listener 1883\nlistener 8883 192.168.1.2\nmax_connections 10\nlistener 0 ::1\n');
    expect(c.listeners).toEqual([
      { port: 1883, host: undefined, protocol: 'mqtt', maxConnections: -1 },
      { port: 8883, host: '192.168.1.2', protocol: 'mqtt', maxConnections: 10 },
      { port: 0, host: '::1', protocol: 'mqtt', maxConnections: -1 },
    ]);
    expect(c.localOnly).toBe(false);
  });

  it('a config file with a listener defaults allow_anonymous to false (Mosquitto 2)', () => {
    expect(parse('listener 1883').allowAnonymous).toBe(false);
    expect(parse('port 1883').allowAnonymous).toBe(false);
    expect(parse('bind_address 0.0.0.0').allowAnonymous).toBe(false);
    expect(parse('listener 1883\nallow_anonymous true').allowAnonymous).toBe(true);
  });

  it('protocol mqtt and max_connections apply to the current listener', () => {
    const c = parse('listener 1\nprotocol mqtt\nmax_connections 7\nlistener 2\nmax_connections -1\nlistener 3\nmax_connections 0');
    expect(c.listeners.map((l) => [l.port, l.protocol, l.maxConnections])).toEqual([
      [1, 'mqtt', 7],
      [2, 'mqtt', -1],
      [3, 'mqtt', 0],
    ]);
  });

  it('port alone defines a default listener on all interfaces', () => {
    const c = parse('port 1884');
    expect(c.listeners).toEqual([{ port: 1884, host: undefined, protocol: 'mqtt', maxConnections: -1 }]);
    expect(c.localOnly).toBe(false);
  });

  it('bind_address alone defines a default listener on port 1883', () => {
    expect(parse('bind_address 10.0.0.1').listeners).toEqual([
      { port: 1883, host: '10.0.0.1', protocol: 'mqtt', maxConnections: -1 },
    ]);
    expect(parse('bind_address 10.0.0.1\nport 1885').listeners.map((l) => [l.host, l.port])).toEqual([['10.0.0.1', 1885]]);
  });

  it('the last port wins; the default listener comes after the listener blocks', () => {
    const c = parse('port 1000\nlistener 8883\nport 1001');
    expect(c.listeners.map((l) => l.port)).toEqual([8883, 1001]);
  });

  it('options before any listener belong to the default listener', () => {
    const c = parse('max_connections 4\nport 1884\nlistener 8883\n');
    expect(c.listeners.map((l) => [l.port, l.maxConnections])).toEqual([
      [8883, -1],
      [1884, 4],
    ]);
  });

  it('port and bind_address do not change the listener scope', () => {
    const c = parse('listener 8883\nport 1884\nmax_connections 9');
    expect(c.listeners.map((l) => [l.port, l.maxConnections])).toEqual([
      [8883, 9],
      [1884, -1],
    ]);
  });

  it('default-listener options apply to the loopback listeners in local-only mode', () => {
    const c = parse('max_connections 2\n');
    expect(c.localOnly).toBe(true);
    expect(c.listeners.map((l) => [l.host, l.port, l.maxConnections])).toEqual([
      ['127.0.0.1', 1883, 2],
      ['::1', 1883, 2],
    ]);
  });

  it('a non-default default-listener option without a default listener is an error', () => {
    expect(err('# x\nmax_connections 2\nlistener 1883\n')).toBe(
      `${F}:2: option 'max_connections' comes before any 'listener' line, so it belongs to the default listener, ` +
        `but no 'port' or 'bind_address' defines one; move it after a 'listener' line (or add 'port 1883')`,
    );
    // Values equal to a listener's defaults are harmless.
    expect(parse('max_connections -1\nprotocol mqtt\nlistener 1883').listeners).toHaveLength(1);
  });

  it('rejects bad listener lines', () => {
    expect(err('listener')).toBe(`${F}:1: option 'listener' needs a port`);
    expect(err('listener 65536')).toBe(
      `${F}:1: invalid port '65536' for option 'listener' (allowed 1..65535, or 0 for an ephemeral port)`,
    );
    expect(err('listener -1')).toBe(
      `${F}:1: invalid port '-1' for option 'listener' (allowed 1..65535, or 0 for an ephemeral port)`,
    );
    expect(err('listener mqtt')).toBe(
      `${F}:1: invalid port 'mqtt' for option 'listener' (allowed 1..65535, or 0 for an ephemeral port)`,
    );
    expect(err('listener 1883 0.0.0.0 x')).toBe(`${F}:1: too many arguments for option 'listener': 'x'`);
    expect(err('listener 0 /run/midge.sock')).toBe(
      `${F}:1: unix socket listeners ('listener 0 /run/midge.sock') are not supported by Midge`,
    );
  });

  it('rejects bad port and bind_address lines', () => {
    expect(err('port')).toBe(`${F}:1: option 'port' needs a value`);
    expect(err('port 1883 1884')).toBe(`${F}:1: too many arguments for option 'port': '1884'`);
    expect(err('port 99999')).toBe(
      `${F}:1: invalid port '99999' for option 'port' (allowed 1..65535, or 0 for an ephemeral port)`,
    );
    expect(err('port 1.5')).toBe(
      `${F}:1: invalid port '1.5' for option 'port' (allowed 1..65535, or 0 for an ephemeral port)`,
    );
    expect(err('bind_address')).toBe(`${F}:1: option 'bind_address' needs a value`);
    expect(err('bind_address a b')).toBe(`${F}:1: too many arguments for option 'bind_address': 'b'`);
    expect(err('bind_address a\nbind_address b')).toBe(
      `${F}:2: duplicate bind_address (the default listener already binds a)`,
    );
  });

  it('protocol: unknown values, and websockets/mqttsn/http need their features', () => {
    expect(err('listener 1\nprotocol')).toBe(`${F}:2: option 'protocol' needs a value`);
    expect(err('listener 1\nprotocol gopher')).toBe(`${F}:2: unknown protocol 'gopher' (expected mqtt, websockets, mqttsn or http)`);
    if (HTTP) expect(parse('listener 1\nprotocol http').listeners[0].protocol).toBe('http');
    else expect(err('listener 1\nprotocol http')).toBe(`${F}:2: ${compiledOut(`protocol 'http'`, 'HTTP', 'gateway')}`);
    if (WS) expect(parse('listener 1\nprotocol websockets').listeners[0].protocol).toBe('websockets');
    else expect(err('listener 1\nprotocol websockets')).toBe(`${F}:2: ${compiledOut(`protocol 'websockets'`, 'WS', 'full')}`);
  });

  it('max_connections: -1 or more', () => {
    expect(err('max_connections')).toBe(`${F}:1: option 'max_connections' needs a value`);
    expect(err('max_connections -2')).toBe(`${F}:1: option 'max_connections' is out of range: -2 (allowed -1..2147483647)`);
    expect(err('max_connections lots')).toBe(`${F}:1: option 'max_connections' needs an integer, got 'lots'`);
  });
});

describe('global options', () => {
  it('allow_anonymous', () => {
    expect(parse('listener 1\nallow_anonymous true').allowAnonymous).toBe(true);
    expect(parse('listener 1\nallow_anonymous false').allowAnonymous).toBe(false);
    // Mosquitto also takes 1 and 0.
    expect(parse('listener 1\nallow_anonymous 1').allowAnonymous).toBe(true);
    expect(parse('allow_anonymous 0').allowAnonymous).toBe(false);
    // Local-only mode allows anonymous clients unless the file says otherwise.
    expect(parse('allow_anonymous false').allowAnonymous).toBe(false);
    expect(parse('allow_anonymous false\nallow_anonymous true').allowAnonymous).toBe(true);
    expect(err('allow_anonymous yes')).toBe(`${F}:1: option 'allow_anonymous' needs true or false, got 'yes'`);
    expect(err('allow_anonymous True')).toBe(`${F}:1: option 'allow_anonymous' needs true or false, got 'True'`);
    expect(err('allow_anonymous')).toBe(`${F}:1: option 'allow_anonymous' needs a value`);
    expect(err('allow_anonymous true false')).toBe(`${F}:1: too many arguments for option 'allow_anonymous': 'false'`);
  });

  it('retain_available', () => {
    expect(parse('retain_available false').retainAvailable).toBe(false);
    expect(parse('retain_available true').retainAvailable).toBe(true);
    expect(err('retain_available no')).toBe(`${F}:1: option 'retain_available' needs true or false, got 'no'`);
    expect(err('retain_available')).toBe(`${F}:1: option 'retain_available' needs a value`);
  });

  const ints: [string, keyof BrokerConfig, number][] = [
    ['max_inflight_messages', 'maxInflightMessages', 65535],
    ['max_queued_messages', 'maxQueuedMessages', 2147483647],
    ['message_size_limit', 'messageSizeLimit', 268435455],
    ['sys_interval', 'sysInterval', 65535],
  ];
  for (const [opt, key, max] of ints) {
    it(`${opt}: 0..${max}`, () => {
      expect(parse(`${opt} 0`)[key]).toBe(0);
      expect(parse(`${opt} 42`)[key]).toBe(42);
      expect(parse(`${opt} ${max}`)[key]).toBe(max);
      expect(parse(`${opt} 5\n${opt} 6`)[key]).toBe(6);
      expect(err(`\n${opt} ${max + 1}`)).toBe(`${F}:2: option '${opt}' is out of range: ${max + 1} (allowed 0..${max})`);
      expect(err(`${opt} -1`)).toBe(`${F}:1: option '${opt}' must not be negative, got -1`);
      expect(err(`${opt} 1k`)).toBe(`${F}:1: option '${opt}' needs an integer, got '1k'`);
      expect(err(`${opt} 0x10`)).toBe(`${F}:1: option '${opt}' needs an integer, got '0x10'`);
      expect(err(`${opt} 2.5`)).toBe(`${F}:1: option '${opt}' needs an integer, got '2.5'`);
      expect(err(`${opt}`)).toBe(`${F}:1: option '${opt}' needs a value`);
      expect(err(`${opt} 1 2`)).toBe(`${F}:1: too many arguments for option '${opt}': '2'`);
    });
  }

  it('persistent_client_expiration takes Mosquitto durations', () => {
    expect(parse('persistent_client_expiration 1h').persistentClientExpiration).toBe(3600);
    expect(parse('persistent_client_expiration 2d').persistentClientExpiration).toBe(2 * 86400);
    expect(parse('persistent_client_expiration 1w').persistentClientExpiration).toBe(7 * 86400);
    // m is a month of 30 days, not minutes.
    expect(parse('persistent_client_expiration 1m').persistentClientExpiration).toBe(30 * 86400);
    expect(parse('persistent_client_expiration 1y').persistentClientExpiration).toBe(365 * 86400);
    const bad = (v: string): string =>
      `${F}:1: invalid persistent_client_expiration '${v}' (expected a positive number followed by h, d, w, m or y, e.g. 2d)`;
    for (const v of ['3600', '5s', '0d', '-1d', 'd', '1.5d', '1D']) {
      expect(err(`persistent_client_expiration ${v}`)).toBe(bad(v));
    }
    expect(err('persistent_client_expiration')).toBe(`${F}:1: option 'persistent_client_expiration' needs a value`);
    expect(err('persistent_client_expiration 1d 2d')).toBe(
      `${F}:1: too many arguments for option 'persistent_client_expiration': '2d'`,
    );
  });
});

describe('logging', () => {
  it('the first log_type replaces the defaults; later ones add', () => {
    expect(parse('').logTypes).toBeUndefined();
    expect(parse('log_type error')).toMatchObject({ logTypes: new Set(['error']) });
    expect(parse('log_type error\nlog_type subscribe\nlog_type unsubscribe').logTypes).toEqual(
      new Set(['error', 'subscribe', 'unsubscribe']),
    );
    for (const t of ALL_TYPES) expect(parse(`log_type ${t}`).logTypes).toEqual(new Set([t]));
  });

  it('log_type all and none', () => {
    expect(parse('log_type all').logTypes).toEqual(new Set(BUILT_TYPES));
    expect(parse('log_type all\nlog_type none').logTypes).toEqual(new Set());
    expect(parse('log_type none\nlog_type debug').logTypes).toEqual(new Set(['debug']));
    expect(allLogTypes()).toEqual(BUILT_TYPES);
  });

  it('rejects bad log_type lines', () => {
    expect(err('log_type verbose')).toBe(
      `${F}:1: unknown log_type 'verbose' (expected error, warning, notice, information, debug, subscribe, unsubscribe, all or none)`,
    );
    expect(err('log_type')).toBe(`${F}:1: option 'log_type' needs a value`);
    expect(err('log_type error warning')).toBe(`${F}:1: too many arguments for option 'log_type': 'warning'`);
    if (!WS) expect(err('log_type websockets')).toBe(`${F}:1: ${compiledOut(`log_type 'websockets'`, 'WS', 'full')}`);
  });

  it('log_dest stdout, stderr and file PATH, repeatable', () => {
    expect(parse('').logDest).toEqual([]);
    expect(parse('log_dest stdout').logDest).toEqual([{ kind: 'stdout' }]);
    expect(parse('log_dest stderr\nlog_dest stdout\nlog_dest stderr').logDest).toEqual([
      { kind: 'stderr' },
      { kind: 'stdout' },
    ]);
    expect(parse('log_dest file /var/log/midge.log\nlog_dest stdout').logDest).toEqual([
      { kind: 'file', path: '/var/log/midge.log' },
      { kind: 'stdout' },
    ]);
  });

  it('log_dest file takes the rest of the line as the path', () => {
    expect(parse('log_dest  file   /var/log/my  logs/midge.log  ').logDest).toEqual([
      { kind: 'file', path: '/var/log/my  logs/midge.log' },
    ]);
  });

  it('log_dest none: nothing logged unless a destination follows', () => {
    const c = parse('log_dest stdout\nlog_dest none');
    expect(c.logDest).toEqual([]);
    expect(c.logDestNone).toBe(true);
    expect(c.logTypes).toEqual(new Set());
    const d = parse('log_dest none\nlog_dest file /tmp/x.log');
    expect(d.logDest).toEqual([{ kind: 'file', path: '/tmp/x.log' }]);
    expect(d.logDestNone).toBe(false);
    expect(d.logTypes).toBeUndefined();
    expect(parse('log_dest stdout').logDestNone).toBe(false);
  });

  it('rejects bad log_dest lines', () => {
    expect(err('log_dest')).toBe(`${F}:1: option 'log_dest' needs a value`);
    expect(err('log_dest file')).toBe(`${F}:1: option 'log_dest file' needs a path`);
    expect(err('log_dest file  ')).toBe(`${F}:1: option 'log_dest file' needs a path`);
    expect(err('log_dest file /a.log\n\nlog_dest file /b.log')).toBe(
      `${F}:3: duplicate 'log_dest file' (one log file only, as in Mosquitto)`,
    );
    expect(err('log_dest stdout now')).toBe(`${F}:1: too many arguments for option 'log_dest stdout': 'now'`);
    expect(err('log_dest none x')).toBe(`${F}:1: too many arguments for option 'log_dest none': 'x'`);
    for (const k of ['topic', 'dlt']) {
      expect(err(`log_dest ${k}`)).toBe(`${F}:1: log_dest ${k} is not supported by Midge (use stdout, stderr, syslog, file PATH or none)`);
    }
    expect(err('log_dest syslog x')).toBe(`${F}:1: too many arguments for option 'log_dest syslog': 'x'`);
    expect(err('log_dest console')).toBe(`${F}:1: unknown log_dest 'console' (expected stdout, stderr, syslog, file PATH or none)`);
  });
});

describe('options of optional features', () => {
  it('featureBuilt reads the flags (tests: SYS, AUTH, TLS, WS, BRIDGE, SN, PERSIST, SERIAL, GPIO, HTTP)', () => {
    for (const f of FEATURE_NAMES) expect(featureBuilt(f)).toBe(BUILT.includes(f));
  });

  it('records the profile that brings each feature', () => {
    const profiles = Object.fromEntries(FEATURE_NAMES.map((f) => [f, FEATURES[f].profile]));
    expect(profiles).toEqual({
      BRIDGE: 'router',
      TLS: 'router',
      AUTH: 'router',
      PERSIST: 'gateway',
      SN: 'gateway',
      SERIAL: 'gateway',
      GPIO: 'gateway',
      WS: 'full',
      SYS: 'gateway',
      HTTP: 'gateway',
    });
  });

  it('maps options to features', () => {
    expect(optionOwner('password_file')).toEqual({ feature: 'AUTH', listener: false });
    expect(optionOwner('plugin_opt_db')).toEqual({ feature: 'AUTH', listener: false });
    expect(optionOwner('plugin_opt_')).toBeUndefined();
    expect(optionOwner('cafile')).toEqual({ feature: 'TLS', listener: true });
    expect(optionOwner('http_dir')).toEqual({ feature: 'WS', listener: true });
    expect(optionOwner('connection')).toEqual({ feature: 'BRIDGE', listener: false });
    expect(optionOwner('sys_interval')).toBeUndefined();
    expect(optionOwner('allow_zero_length_clientid')).toBeUndefined();
    expect(optionOwner('listener')).toBeUndefined();
  });

  it('no option belongs to two features or to the core', () => {
    const seen = new Map<string, FeatureName>();
    const core = ['listener', 'port', 'bind_address', 'protocol', 'max_connections', 'allow_anonymous',
      'max_inflight_messages', 'max_queued_messages', 'message_size_limit', 'retain_available',
      'sys_interval', 'log_type', 'log_dest', 'persistent_client_expiration', 'include_dir'];
    for (const f of FEATURE_NAMES) {
      for (const o of [...FEATURES[f].options, ...FEATURES[f].listenerOptions]) {
        expect(seen.get(o), o).toBeUndefined();
        expect(core, o).not.toContain(o);
        seen.set(o, f);
      }
    }
  });

  it('gives the exact compiled-out message', () => {
    // test/gpio/config.test.ts checks the whole line in a build without GPIO.
    expect(featureMissingMessage(`option 'gpio'`, 'GPIO')).toBe(
      `option 'gpio' needs feature GPIO, which is not built into this bundle; ` +
        `build profile 'gateway' or 'full' (npm run build -- --profile gateway)`,
    );
    expect(featureMissingMessage(`option 'http_dir'`, 'WS')).toBe(
      `option 'http_dir' needs feature WS, which is not built into this bundle; build profile 'full' (npm run build -- --profile full)`,
    );
  });

  for (const f of FEATURE_NAMES.filter((n) => !BUILT.includes(n))) {
    const info = FEATURES[f];
    // Features the tests build in (vitest.config.ts) are checked in their own suites and in
    // test/auth/config.test.ts (AUTH compiled out).
    if (featureBuilt(f)) continue;
    for (const o of [...info.options, ...info.listenerOptions]) {
      it(`${o} needs ${f}`, () => {
        expect(err(`listener 1883\n${o} x`)).toBe(`${F}:2: ${compiledOut(`option '${o}'`, f, info.profile)}`);
      });
    }
  }

  it('the feature check comes before argument checks', async () => {
    // The tests build every feature with options in: check in a build without any.
    const dir = mkdtempSync(join(tmpdir(), 'midge-none-'));
    try {
      const none = await importWithFlags<typeof import('../../src/config/parse.ts')>(new URL('../helpers/parse-entry.ts', import.meta.url), [], dir);
      for (const f of FEATURE_NAMES.filter((n) => FEATURES[n].options.length > 0)) {
        const o = FEATURES[f].options[0];
        expect(() => none.parseConfigText(o, F)).toThrow(`${F}:1: ${compiledOut(`option '${o}'`, f, FEATURES[f].profile)}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('include_dir', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-conf-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes files under a fresh subdirectory and returns its path. */
  let n = 0;
  function tree(files: Record<string, string>): string {
    const root = join(dir, `t${n++}`);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(root, name, '..'), { recursive: true });
      writeFileSync(join(root, name), text);
    }
    return root;
  }

  it('reads *.conf files in Mosquitto order, relative to the config file', () => {
    const root = tree({
      'midge.conf': 'log_type error\ninclude_dir conf.d\nlog_type debug\n',
      'conf.d/b.conf': 'log_type warning\nlistener 2\n',
      'conf.d/a.conf': 'listener 1\nallow_anonymous true\n',
      'conf.d/B.conf': 'listener 3\n',
      'conf.d/c.txt': 'not a config file\n',
      'conf.d/.conf': 'not a config file either\n',
      'conf.d/d.conf.bak': 'nor this\n',
      'conf.d/sub.conf/x.conf': 'nor this\n',
    });
    const c = loadConfigFile(join(root, 'midge.conf'));
    expect(c.listeners.map((l) => l.port)).toEqual([1, 3, 2]);
    expect(c.allowAnonymous).toBe(true);
    expect(c.logTypes).toEqual(new Set(['error', 'warning', 'debug']));
    expect(c.files).toEqual([
      join(root, 'midge.conf'),
      join(root, 'conf.d', 'a.conf'),
      join(root, 'conf.d', 'B.conf'),
      join(root, 'conf.d', 'b.conf'),
    ]);
    expect(c.defaults).toBe(false);
  });

  it('takes an absolute directory, and the rest of the line as its name', () => {
    const root = tree({ 'my conf.d/x.conf': 'listener 1884\n' });
    const c = parseConfigText(`include_dir ${join(root, 'my conf.d')}`, '/nowhere/midge.conf');
    expect(c.listeners.map((l) => l.port)).toEqual([1884]);
  });

  it('an empty directory adds nothing', () => {
    const root = tree({ 'midge.conf': 'include_dir empty\n' });
    mkdirSync(join(root, 'empty'));
    expect(loadConfigFile(join(root, 'midge.conf')).localOnly).toBe(true);
  });

  it('each included file starts in the default listener scope; the includer resumes its own', () => {
    const root = tree({
      'midge.conf': 'port 1884\nlistener 8883\ninclude_dir d\nmax_connections 8\n',
      'd/x.conf': 'max_connections 1\nlistener 9000\nmax_connections 9\n',
    });
    const c = loadConfigFile(join(root, 'midge.conf'));
    expect(c.listeners.map((l) => [l.port, l.maxConnections])).toEqual([
      [8883, 8],
      [9000, 9],
      [1884, 1],
    ]);
  });

  it('reports errors in an included file with its own name and line', () => {
    const root = tree({ 'midge.conf': '\ninclude_dir d\n', 'd/x.conf': '# x\nlistener 1883\nmax_conections 5\n' });
    expect(errorOf(() => loadConfigFile(join(root, 'midge.conf'))).message).toBe(
      `${join(root, 'd', 'x.conf')}:3: unknown option 'max_conections'`,
    );
  });

  it('is only valid in the main config file', () => {
    const root = tree({ 'midge.conf': 'include_dir d\n', 'd/x.conf': '\ninclude_dir e\n' });
    expect(errorOf(() => loadConfigFile(join(root, 'midge.conf'))).message).toBe(
      `${join(root, 'd', 'x.conf')}:2: include_dir is only valid in the main config file`,
    );
  });

  it('rejects a missing directory or value', () => {
    const root = tree({ 'midge.conf': '# x\ninclude_dir nope\n' });
    const msg = errorOf(() => loadConfigFile(join(root, 'midge.conf'))).message;
    expect(msg.startsWith(`${join(root, 'midge.conf')}:2: cannot read include_dir 'nope': ENOENT`)).toBe(true);
    expect(err('include_dir')).toBe(`${F}:1: option 'include_dir' needs a directory`);
    expect(err('include_dir   ')).toBe(`${F}:1: option 'include_dir' needs a directory`);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-load-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file', () => {
    const p = join(dir, 'midge.conf');
    writeFileSync(p, 'listener 1883\nallow_anonymous true\nmax_queued_messages 50\n');
    const c = loadConfigFile(p);
    expect(c.files).toEqual([p]);
    expect(c.maxQueuedMessages).toBe(50);
    expect(c.allowAnonymous).toBe(true);
    expect(c.listeners).toHaveLength(1);
  });

  it('reports an unreadable file without a line number', () => {
    const p = join(dir, 'missing.conf');
    const e = errorOf(() => loadConfigFile(p));
    expect(e.message.startsWith(`${p}: cannot read config file: ENOENT`)).toBe(true);
    expect(e.line).toBe(0);
    expect(errorOf(() => loadConfigFile(dir)).message.startsWith(`${dir}: cannot read config file: EISDIR`)).toBe(true);
  });

  it('a file without listeners is local-only, like Mosquitto 2', () => {
    const p = join(dir, 'quiet.conf');
    writeFileSync(p, 'log_type all\nsys_interval 0\n');
    const c = loadConfigFile(p);
    expect(c.localOnly).toBe(true);
    expect(c.defaults).toBe(false);
    expect(c.allowAnonymous).toBe(true);
    expect(c.listeners.map((l) => l.host)).toEqual(['127.0.0.1', '::1']);
    expect(c.sysInterval).toBe(0);
  });
});

describe('parseConfigText with a base', () => {
  it('adds to and overrides the base settings without changing it', () => {
    const base = parse('listener 1883\nallow_anonymous true\nlog_type error\nlog_dest file /a.log');
    const c = parseConfigText('listener 8883\nsys_interval 3\nlog_type debug', '/etc/extra.conf', base);
    expect(c.listeners.map((l) => l.port)).toEqual([1883, 8883]);
    expect(c.allowAnonymous).toBe(true);
    expect(c.sysInterval).toBe(3);
    expect(c.logTypes).toEqual(new Set(['error', 'debug']));
    expect(c.files).toEqual([F, '/etc/extra.conf']);
    expect(base.listeners).toHaveLength(1);
    expect(base.logTypes).toEqual(new Set(['error']));
    expect(errorOf(() => parseConfigText('log_dest file /b.log', '/x.conf', base)).message).toBe(
      `/x.conf:1: duplicate 'log_dest file' (one log file only, as in Mosquitto)`,
    );
  });

  it('drops loopback listeners of a local-only base', () => {
    const c = parseConfigText('listener 1884', '/x.conf', defaultConfig());
    expect(c.listeners.map((l) => l.port)).toEqual([1884]);
    expect(c.localOnly).toBe(false);
    expect(c.defaults).toBe(false);
    expect(c.allowAnonymous).toBe(false);
    expect(parseConfigText('', '/x.conf', defaultConfig()).localOnly).toBe(true);
  });
});

describe('with every feature built', () => {
  // Bundles the parser with all flags true, as `--profile full` would, and runs it.
  type ParseModule = typeof import('../../src/config/parse.ts');
  let full: ParseModule;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-full-'));
    full = await importWithFlags<ParseModule>(new URL('../helpers/parse-entry.ts', import.meta.url), FEATURE_NAMES, dir);
  }, 30_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores listener feature options on the listener', () => {
    const c = full.parseConfigText(
      'listener 8883\ncertfile /c\nkeyfile /k\ncrlfile /crl.pem\nlistener 9001\nprotocol websockets\nhttp_dir /www\n' +
        'websockets_origin https://a.example\nwebsockets_origin http://b.example:8080\n',
      F,
    );
    expect(c.listeners[0].tls?.crlfile).toBe('/crl.pem');
    expect(c.listeners[1].protocol).toBe('websockets');
    expect([c.listeners[1].httpDir, c.listeners[1].origins]).toEqual(['/www', ['https://a.example', 'http://b.example:8080']]);
  });

  it('listener feature options before any listener go to the default listener', () => {
    const c = full.parseConfigText('http_dir /www\nport 8883\nlistener 1883\n', F);
    expect(c.listeners.map((l) => [l.port, l.httpDir])).toEqual([
      [1883, undefined],
      [8883, '/www'],
    ]);
    // The bundle has its own ConfigError class.
    expect(() => full.parseConfigText('http_dir /www\nlistener 1883\n', F)).toThrow(
      /^\/etc\/midge\.conf:1: option 'http_dir' comes before any 'listener' line/,
    );
  });

  it('websockets_log_level is read and has no effect; websockets_headers_size is 0..65535', () => {
    const c = full.parseConfigText('websockets_log_level 255\nwebsockets_headers_size 4096\n', F);
    expect(c.wsHeadersSize).toBe(4096);
    expect(() => full.parseConfigText('websockets_headers_size 65536', F)).toThrow(`${F}:1: option 'websockets_headers_size' is out of range: 65536 (allowed 0..65535)`);
    expect(() => full.parseConfigText('websockets_log_level x', F)).toThrow(`${F}:1: option 'websockets_log_level' needs an integer, got 'x'`);
  });

  it('accepts mqttsn and websockets protocols and log types', () => {
    const c = full.parseConfigText('listener 1884\nprotocol mqttsn\nlog_type websockets\n', F);
    expect(c.listeners[0].protocol).toBe('mqttsn');
    expect(c.logTypes).toEqual(new Set(['websockets']));
    expect(full.allLogTypes()).toEqual([...ALL_TYPES, 'websockets']);
  });

  it('still requires a value', () => {
    // The bundle has its own ConfigError class.
    expect(() => full.parseConfigText('psk_file', F)).toThrow(`${F}:1: option 'psk_file' needs a file name`);
  });
});

describe('MQTT-SN listener options (feature SN)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-sn-conf-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses every option into the listener, with defaults for the rest', () => {
    const c = parse('listener 1883\nlistener 1884 127.0.0.1\nprotocol mqttsn\nadvertise_interval 60\ngateway_id 9\nsn_max_clients 50\n');
    expect(c.listeners[0].sn).toBeUndefined();
    expect(c.listeners[1].sn).toEqual({
      advertiseInterval: 60, gatewayId: 9, predefinedTopics: [], maxClients: 50, maxTopics: 1000, retryInterval: 10, retryCount: 3,
    });
    // protocol mqttsn alone: the defaults.
    expect(parse('listener 1884\nprotocol mqttsn').listeners[0].sn).toEqual({
      advertiseInterval: 900, gatewayId: 1, predefinedTopics: [], maxClients: 1000, maxTopics: 1000, retryInterval: 10, retryCount: 3,
    });
  });

  it('options may come before protocol mqttsn in the block, and apply per listener', () => {
    const c = parse('listener 1884\ngateway_id 2\nprotocol mqttsn\nlistener 1885\nprotocol mqttsn\ngateway_id 3\n');
    expect(c.listeners.map((l) => l.sn?.gatewayId)).toEqual([2, 3]);
  });

  it('rejects values out of range, with file:line', () => {
    expect(err('listener 1884\nprotocol mqttsn\ngateway_id 0')).toBe(`${F}:3: option 'gateway_id' is out of range: 0 (allowed 1..255)`);
    expect(err('listener 1884\nprotocol mqttsn\nadvertise_interval -1')).toBe(`${F}:3: option 'advertise_interval' must not be negative, got -1`);
    expect(err('listener 1884\nprotocol mqttsn\nsn_max_clients 0')).toBe(`${F}:3: option 'sn_max_clients' is out of range: 0 (allowed 1..65535)`);
    expect(err('listener 1884\nprotocol mqttsn\nsn_max_clients x')).toBe(`${F}:3: option 'sn_max_clients' needs an integer, got 'x'`);
    expect(err('listener 1884\nprotocol mqttsn\ngateway_id 1 2')).toBe(`${F}:3: too many arguments for option 'gateway_id': '2'`);
    // Fixed values, not options (docs/mqtt-sn.md).
    expect(err('listener 1884\nprotocol mqttsn\nsn_retry_count 2')).toBe(`${F}:3: unknown option 'sn_retry_count'`);
  });

  it('sn_multicast_group ADDR[:PORT] [IFACE]: an IPv4 or IPv6 multicast group, its port and interface', () => {
    const mc = (line: string, listen = 'listener 1884'): unknown => parse(`${listen}\nprotocol mqttsn\n${line}`).listeners[0].sn?.multicast;
    expect(mc('sn_multicast_group 225.1.1.1')).toEqual({ group: '225.1.1.1' });
    expect(mc('sn_multicast_group 225.1.1.1:1883 eth0')).toEqual({ group: '225.1.1.1', port: 1883, iface: 'eth0' });
    expect(mc('sn_multicast_group 239.255.0.1 192.168.1.2', 'listener 1884 0.0.0.0')).toEqual({ group: '239.255.0.1', iface: '192.168.1.2' });
    expect(mc('sn_multicast_group ff02::1:1')).toEqual({ group: 'ff02::1:1' });
    expect(mc('sn_multicast_group [ff02::1]:10000 wlan0', 'listener 1884 ::')).toEqual({ group: 'ff02::1', port: 10000, iface: 'wlan0' });
    expect(err('listener 1884\nprotocol mqttsn\nsn_multicast_group 192.168.1.1')).toBe(
      `${F}:3: option 'sn_multicast_group' needs a multicast address (224.0.0.0 to 239.255.255.255, or ff00::/8), got '192.168.1.1'`,
    );
    expect(err('listener 1884\nprotocol mqttsn\nsn_multicast_group fe80::1')).toMatch(/needs a multicast address/);
    expect(err('listener 1884\nprotocol mqttsn\nsn_multicast_group 225.1.1.1:0')).toBe(`${F}:3: option 'sn_multicast_group' is out of range: 0 (allowed 1..65535)`);
    expect(err('listener 1884\nprotocol mqttsn\nsn_multicast_group')).toBe(`${F}:3: option 'sn_multicast_group' needs a multicast group (ADDR[:PORT] [IFACE])`);
    expect(err('listener 1884\nprotocol mqttsn\nsn_multicast_group 225.1.1.1 eth0 x')).toBe(`${F}:3: too many arguments for option 'sn_multicast_group': 'x'`);
    // The group is joined on the listener's socket: the same IP version as its address.
    expect(err('listener 1884 127.0.0.1\nprotocol mqttsn\nsn_multicast_group ff02::1')).toBe(
      `${F}:3: sn_multicast_group ff02::1 and the address 127.0.0.1 of the listener of port 1884 are not of the same IP version`,
    );
    expect(err('listener 1884 ::1\nprotocol mqttsn\nsn_multicast_group 225.1.1.1')).toMatch(/not of the same IP version/);
  });

  it('refuses MQTT-SN options on a listener that is not protocol mqttsn', () => {
    expect(err('listener 1883\n\ngateway_id 4')).toBe(`${F}:3: MQTT-SN options need 'protocol mqttsn' on the listener of port 1883`);
    expect(err('gateway_id 4\nlistener 1883')).toMatch(/^\/etc\/midge\.conf:1: option 'gateway_id' comes before any 'listener' line/);
  });

  it('reads a predefined topics file in the Paho gateway format, relative to the config file', () => {
    writeFileSync(join(dir, 'predef.conf'), '# Paho format\n*, sensors/all, 1\n\nsensor-7 , sensors/7/temp , 20\nsensor-7, sensors/all2, 1\n');
    const conf = join(dir, 'midge.conf');
    writeFileSync(conf, 'listener 1884\nprotocol mqttsn\npredefined_topics predef.conf\n');
    expect(loadConfigFile(conf).listeners[0].sn?.predefinedTopics).toEqual([
      { clientId: '*', topic: 'sensors/all', id: 1 },
      { clientId: 'sensor-7', topic: 'sensors/7/temp', id: 20 },
      { clientId: 'sensor-7', topic: 'sensors/all2', id: 1 },
    ]);
  });

  it('reports predefined topics file errors as topics-file:line', () => {
    const file = join(dir, 'bad.conf');
    const conf = join(dir, 'midge2.conf');
    writeFileSync(conf, `listener 1884\nprotocol mqttsn\npredefined_topics ${file}\n`);
    const cases: [string, string][] = [
      ['*, a/b\n', `${file}:1: expected 'CLIENTID, TOPIC, ID', got '*, a/b'`],
      ['# c\n*, a/+, 1\n', `${file}:2: 'a/+' is not a topic name (no wildcards, not empty)`],
      ['*, a/b, 0\n', `${file}:1: topic id '0' is out of range (allowed 1..65534)`],
      ['*, a/b, 65535\n', `${file}:1: topic id '65535' is out of range (allowed 1..65534)`],
      ['*, a/b, 1\n*, a/c, 1\n', `${file}:2: duplicate topic id 1 for client *`],
      ['*, a/b, 1\n*, a/b, 2\n', `${file}:2: duplicate topic 'a/b' for client *`],
      [', a/b, 1\n', `${file}:1: empty client id (use * for every client)`],
    ];
    for (const [text, message] of cases) {
      writeFileSync(file, text);
      expect(errorOf(() => loadConfigFile(conf)).message).toBe(message);
    }
    expect(err('listener 1884\nprotocol mqttsn\npredefined_topics /nonexistent/p.conf')).toMatch(
      /^\/etc\/midge\.conf:3: cannot read predefined_topics file: ENOENT/,
    );
  });

  it('without SN built, protocol mqttsn and every MQTT-SN option name the feature', async () => {
    const noSn = await importWithFlags<typeof import('../../src/config/parse.ts')>(
      new URL('../helpers/parse-entry.ts', import.meta.url),
      BUILT.filter((f) => f !== 'SN'),
      dir,
    );
    expect(() => noSn.parseConfigText('listener 1\nprotocol mqttsn', F)).toThrow(`${F}:2: ${compiledOut(`protocol 'mqttsn'`, 'SN', 'gateway')}`);
    for (const o of [...FEATURES.SN.options, ...FEATURES.SN.listenerOptions]) {
      expect(() => noSn.parseConfigText(`listener 1883\n${o} x`, F)).toThrow(`${F}:2: ${compiledOut(`option '${o}'`, 'SN', 'gateway')}`);
    }
  }, 30_000);
});
