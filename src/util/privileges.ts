// `user` (mosquitto.conf) and PUID/PGID (Mosquitto 2.1's container variables): a broker started as
// root becomes an unprivileged user once its listeners, files and devices are open (main.ts; never
// in-process brokers). Users come from /etc/passwd (other NSS sources are not read).
import { readFileSync } from 'node:fs';
import { log } from './log.ts';

/** [uid, gid] of `name` in /etc/passwd. */
function account(name: string): number[] | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length > 3) return [+f[2], +f[3]];
  }
}

/** PUID or PGID: a number; unset or empty = 0 (keep). */
function envId(name: string): number {
  const s = process.env[name] || '0';
  if (!/^\d+$/.test(s)) throw new Error(`${name} is not a valid id: '${s}'`);
  return +s;
}

/**
 * As Mosquitto, only when running as root: PUID and/or PGID set → those ids (0 = keep; PGID also
 * becomes the only supplementary group); else `user` (default mosquitto; `root` = stay root):
 * its groups, primary group and uid. A missing `mosquitto` user falls back to `nobody`; another
 * missing user is an error. Throws an Error whose message says why.
 */
export function dropPrivileges(user = 'mosquitto'): void {
  if (process.getuid?.() !== 0) return;
  const p = process;
  if (p.env.PUID || p.env.PGID) {
    const g = envId('PGID');
    const u = envId('PUID');
    if (g) {
      p.setgroups!([g]);
      p.setgid!(g);
    }
    if (u) p.setuid!(u);
  } else if (user !== 'root') {
    let name = user;
    let ids = account(name);
    if (!ids && name === 'mosquitto') {
      log.warning(`No user 'mosquitto': dropping privileges to 'nobody' instead.`);
      ids = account((name = 'nobody'));
    }
    if (!ids) throw new Error(`Unable to drop privileges to '${name}': no such user.`);
    // In Node, not in @types/node.
    (p as unknown as { initgroups(user: string, group: number): void }).initgroups(name, ids[1]);
    p.setgid!(ids[1]);
    p.setuid!(ids[0]);
  }
  log.info(`Running as uid ${p.getuid!()}, gid ${p.getgid!()}.`);
}
