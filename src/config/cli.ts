// The command line, with Mosquitto's flags: -c/--config-file, -p/--port, -v/--verbose, -h/--help,
// --version (the packages' `midge --version`) and Mosquitto 2.1's --test-config.
import { parseArgs } from 'node:util';
import { allLogTypes } from './parse.ts';
import type { BrokerConfig } from './types.ts';

export interface CliOptions {
  configFile?: string;
  port?: number;
  verbose: boolean;
  help: boolean;
  /** --version: print the version and exit. Absent unless given. */
  version?: boolean;
  /** --test-config: check the config file and exit. */
  test?: boolean;
}

export const USAGE = `Usage: midge [-c config_file] [-p port] [-v] [--test-config] [-h|--version]
${AUTH ? '       midge passwd ...   (manage a password file; midge passwd -h for its usage)\n       midge pub ... | midge sub ...   (mosquitto_pub and mosquitto_sub; --help for their usage)\n' : ''}
 -c, --config-file FILE  Read the configuration from FILE (mosquitto.conf format).
                         Without it, midge listens on 127.0.0.1 and ::1 port 1883 only.
 -p, --port PORT         Listen on PORT instead of 1883 when no listener is configured.
 -v, --verbose           Log everything (like log_type all).
     --test-config       Check the config file (-c) and exit: 0 if it is valid.
 -h, --help              Show this help and exit.
     --version           Print the version and exit.
`;

const OPTIONS = {
  'config-file': { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  'test-config': { type: 'boolean' },
} as const;

/** Throws the one-line Error a command line mistake gets (midge and midge passwd). */
export function bad(message: string): never {
  throw new Error(message);
}

/** Parses the arguments after `midge`. Throws an Error with a one-line message on bad input. */
export function parseCli(argv: string[]): CliOptions {
  // Non-strict parsing with tokens, so that every mistake gets our own message.
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const out: CliOptions = { verbose: false, help: false };
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') bad(`unexpected argument '${t.value}'`);
    const raw = t.rawName;
    switch (t.name) {
      case 'config-file':
        if (t.value === undefined || t.value === '') bad(`${raw} needs a config file name`);
        if (out.configFile !== undefined) bad(`${raw}: only one config file can be given`);
        out.configFile = t.value;
        break;
      case 'port': {
        if (t.value === undefined) bad(`${raw} needs a port number`);
        const port = /^\d+$/.test(t.value) ? Number(t.value) : NaN;
        if (!(port >= 1 && port <= 65535)) bad(`invalid port '${t.value}' for ${raw} (allowed 1..65535)`);
        // Mosquitto takes several -p; Midge listens on one command-line port.
        if (out.port !== undefined) bad(`${raw}: only one port can be given`);
        out.port = port;
        break;
      }
      case 'verbose':
      case 'help':
      case 'version':
      case 'test-config':
        if (t.value !== undefined) bad(`${raw} takes no value`);
        out[t.name === 'test-config' ? 'test' : t.name] = true;
        break;
      case 'd':
      case 'daemon':
        bad(`${raw} is not supported: run midge in the foreground under a service manager (e.g. systemd)`);
      default:
        bad(`unknown option '${raw}'`);
    }
  }
  return out;
}

/**
 * Applies the command line to a configuration (returns a new object; `cfg` is not changed).
 *
 * -p PORT: as in Mosquitto 2, the port only matters in local-only mode, i.e. when no config file
 * was given or the file defines no `listener`, `port` or `bind_address`: the loopback listeners
 * (127.0.0.1 and ::1) then use PORT instead of 1883. When the config defines listeners, Mosquitto
 * ignores -p and so does Midge (the caller may warn: `cli.port !== undefined && !cfg.localOnly`).
 *
 * -v: log every type, overriding `log_type` lines (Mosquitto's -v). It does not undo
 * `log_dest none`, which leaves nowhere to log to.
 */
export function applyCli(cfg: BrokerConfig, cli: Pick<CliOptions, 'port' | 'verbose'>): BrokerConfig {
  let out = cfg;
  const port = cli.port;
  if (port !== undefined && (cfg.localOnly === true || cfg.defaults)) {
    out = { ...out, listeners: out.listeners.map((l) => ({ ...l, port })) };
  }
  if (cli.verbose && !cfg.logDestNone) out = { ...out, logTypes: new Set(allLogTypes()) };
  return out;
}
