// External test peers (Debian's mosquitto, mosquitto_pub, mosquitto_sub, socat): where they are
// and whether a test may run without them.
//
// Outside CI a missing peer skips the tests that need it, with the reason printed once. With
// CI=true a missing peer is an error: `.ci/run` installs every peer, so a missing one means the CI
// set-up is broken, and a silent skip would hide that.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Debian installs the mosquitto broker in /usr/sbin, which is not on every user's PATH.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

const PACKAGES: Record<string, string> = {
  mosquitto: 'mosquitto',
  mosquitto_passwd: 'mosquitto',
  mosquitto_pub: 'mosquitto-clients',
  mosquitto_sub: 'mosquitto-clients',
  socat: 'socat',
  openssl: 'openssl',
  // The package tests (test/build/package-*.test.ts).
  'dpkg-deb': 'dpkg',
  lintian: 'lintian',
  shellcheck: 'shellcheck',
  'systemd-analyze': 'systemd',
  setpriv: 'util-linux',
  stdbuf: 'coreutils',
};

/** Absolute path of an executable on PATH (or in the sbin directories), or undefined. */
export function peerPath(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const reported = new Set<string>();

/**
 * True when every command is available. Otherwise: with CI=true, throws (the test file fails);
 * without, prints why and returns false so the caller can skip:
 *
 *   const peers = requirePeer('mosquitto_pub', 'mosquitto_sub');
 *   describe.skipIf(!peers)('...', () => { ... });
 */
export function requirePeer(...cmds: string[]): boolean {
  const missing = cmds.filter((c) => peerPath(c) === undefined);
  if (missing.length === 0) return true;
  const pkgs = [...new Set(missing.map((c) => PACKAGES[c] ?? c))].join(' ');
  const why = `test peer${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found (Debian package: ${pkgs}; .ci/run installs it)`;
  if (process.env.CI === 'true') throw new Error(`${why}; CI=true requires every peer`);
  if (!reported.has(why)) {
    reported.add(why);
    process.stderr.write(`SKIP: ${why}\n`);
  }
  return false;
}
