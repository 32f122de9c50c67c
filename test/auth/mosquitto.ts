// Debian's mosquitto broker as a test peer: a config on a free loopback port, readable by the
// `mosquitto` user it drops to when started as root (directories 755, files 644).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerPath } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnProc, type Proc } from '../helpers/proc.ts';

/** A temporary directory that the mosquitto user can read. */
export function sharedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Writes a file the mosquitto user can read. */
export function writeShared(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o644);
}

export async function startMosquitto(dir: string, lines: string[]): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeShared(conf, [`listener ${port} 127.0.0.1`, 'log_dest stderr', ...lines].join('\n') + '\n');
  const proc = spawnProc(peerPath('mosquitto') as string, ['-c', conf]);
  await proc.waitFor(/mosquitto version \S+ running/, 10_000, 'stderr');
  return { port, proc };
}
