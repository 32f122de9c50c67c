// The `midge` command: arguments → config → broker → listeners. Features are wired in here and in
// server.ts, each behind its compile-time flag.
import { rmSync, writeFileSync } from 'node:fs';
import { applyCli, parseCli, USAGE } from './config/cli.ts';
import { runClient } from './client/run.ts';
import { runPasswd } from './features/auth/passwd.ts';
import { defaultConfig } from './config/defaults.ts';
import { loadConfigFile } from './config/parse.ts';
import { registerFeatureParsers } from './features/options.ts';
import { ConfigError } from './config/values.ts';
import { startServer } from './server.ts';
import { log } from './util/log.ts';
import { dropPrivileges } from './util/privileges.ts';
import { VERSION } from './version.ts';

async function main(argv: string[]): Promise<number> {
  // `midge passwd ...`: the password file tool (mosquitto_passwd's usage).
  if (AUTH && argv[0] === 'passwd') return runPasswd(argv.slice(1));
  // `midge pub ...` / `midge sub ...`: mosquitto_pub and mosquitto_sub (src/client/).
  if (AUTH && (argv[0] === 'pub' || argv[0] === 'sub')) return runClient(argv[0], argv.slice(1));
  registerFeatureParsers();
  let cli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`midge: ${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (cli.help || cli.version) {
    process.stdout.write(`midge ${VERSION}\n${cli.help ? USAGE : ''}`);
    return 0;
  }
  // --test-config (Mosquitto 2.1): Mosquitto's messages and exit codes (3 for a bad or missing file).
  if (cli.test && !cli.configFile) {
    log.error('Please provide a configuration file to test.');
    return 3;
  }
  let cfg;
  try {
    cfg = applyCli(cli.configFile ? loadConfigFile(cli.configFile) : defaultConfig(), cli);
  } catch (err) {
    process.stderr.write(`Error: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 3;
  }
  if (cli.test) {
    log.info('Configuration file is OK.');
    return 0;
  }
  log.configure(cfg.logTypes, cfg.logDest, cfg.logTimestamp !== false && (cfg.logTimestampFormat ?? true), cfg.logFacility);
  log.notice(`midge version ${VERSION} starting`);
  if (cli.port !== undefined && !cfg.localOnly) {
    log.warning(`-p ${cli.port} ignored: the config file defines its listeners.`);
  }
  if (!cfg.defaults) log.notice(`Config loaded from ${cfg.files.join(', ')}.`);
  if (cfg.localOnly) {
    log.notice(
      `No listener configured: listening on loopback only (127.0.0.1 and ::1)${cfg.allowAnonymous ? ' with anonymous clients allowed' : ''}. ` +
        'Add a `listener` to a config file (-c) to accept connections from other machines.',
    );
  }
  let running;
  try {
    running = await startServer(cfg);
  } catch (err) {
    log.error(`Error: ${(err as Error).message}`);
    return 1;
  }
  const r = running;
  const pidFile = cfg.pidFile;
  const removePid = (): void => {
    try {
      if (pidFile) rmSync(pidFile, { force: true });
    } catch {
      // Not ours to remove any more once privileges are dropped (as in Mosquitto).
    }
  };
  return new Promise<number>((resolve) => {
    const end = (code: number): void => {
      removePid();
      void r.close().then(() => resolve(code));
    };
    const stop = (sig: string): void => {
      log.notice(`midge version ${VERSION} terminating (${sig})`);
      end(0);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // As Mosquitto: SIGHUP re-reads the files features registered (password, ACL, certificates;
    // gpio lines and Home Assistant discovery). Builds without such features keep SIGHUP's default action.
    if (AUTH || TLS || GPIO || SERIAL) {
      process.on('SIGHUP', () => {
        log.notice('Reloading (SIGHUP).');
        r.reload().catch((err: Error) => log.error(`Reload error: ${err.message}`));
      });
    }
    if (pidFile) {
      // Mosquitto writes it only as a daemon; Midge runs in the foreground under its service
      // manager, which may want it: written once listening (and stoppable), a failure logged.
      try {
        writeFileSync(pidFile, `${process.pid}\n`);
      } catch (err) {
        log.warning(`Unable to write pid file ${pidFile}: ${(err as Error).message}.`);
      }
    }
    // `user`: root becomes an unprivileged user now that listeners, files and devices are open.
    try {
      dropPrivileges(cfg.user);
    } catch (err) {
      log.error(`Error: ${(err as Error).message}`);
      end(1);
    }
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`midge: fatal: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
