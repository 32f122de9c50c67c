// `midge pub` / `midge sub` from a real bundle next to Debian's mosquitto_pub / mosquitto_sub:
// run to completion (with stdin), or started and awaited line by line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { peerPath } from '../helpers/peers.ts';
import { spawnProc, type Proc } from '../helpers/proc.ts';

export interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Builds src/main.ts with `flags` into dir/NAME/broker.min.js; returns its path. */
export async function buildClientBundle(dir: string, name: string, flags?: string[]): Promise<string> {
  const { buildBundle } = await import('../../scripts/build.mjs');
  const outfile = join(dir, name, 'broker.min.js');
  await buildBundle({ outfile, flags });
  return outfile;
}

/** Runs a command to completion, feeding `input` on stdin; kills it after `ms`. */
export function runCmd(cmd: string, args: string[], input?: string | Buffer, ms = 15_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${ms} ms\n${Buffer.concat(out)}\n${Buffer.concat(err)}`));
    }, ms);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The two implementations of one tool: Midge's bundle (`midge pub`) and Debian's. */
export function tools(bundle: () => string): {
  midge: (tool: 'pub' | 'sub', args: string[], input?: string | Buffer, ms?: number) => Promise<Ran>;
  mosq: (tool: 'pub' | 'sub', args: string[], input?: string | Buffer, ms?: number) => Promise<Ran>;
  startMidge: (tool: 'pub' | 'sub', args: string[]) => Proc;
  startMosq: (tool: 'pub' | 'sub', args: string[]) => Proc;
} {
  return {
    midge: (tool, args, input, ms) => runCmd(process.execPath, [bundle(), tool, ...args], input, ms),
    mosq: (tool, args, input, ms) => runCmd(peerPath(`mosquitto_${tool}`)!, args, input, ms),
    startMidge: (tool, args) => spawnProc(process.execPath, [bundle(), tool, ...args]),
    startMosq: (tool, args) => spawnProc(peerPath(`mosquitto_${tool}`)!, args),
  };
}

/** mosquitto_pub's words with its name replaced by Midge's, for comparing messages. */
export const asMidge = (s: string): string => s.replace(/mosquitto_(pub|sub)/g, 'midge $1');

export interface Started {
  child: ReturnType<typeof spawn>;
  /** Raw stdout so far. */
  out: () => Buffer;
  err: () => string;
  /** Resolves when stdout (as text) matches `re`; rejects after `ms` or at exit. */
  waitOut: (re: RegExp, ms?: number) => Promise<void>;
  exited: Promise<number | null>;
}

const started = new Set<Started>();

/** Starts a command, keeping its raw output (byte comparisons) and its exit code. */
export function start(cmd: string, args: string[]): Started {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (b: Buffer) => {
    out.push(b);
    for (const w of waiters.slice()) w();
  });
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const s: Started = {
    child,
    out: () => Buffer.concat(out),
    err: () => Buffer.concat(err).toString(),
    exited,
    waitOut: (re, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!re.test(s.out().toString())) return;
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re} from ${cmd} ${args.join(' ')}\n${s.out()}\n${s.err()}`)), ms);
        void exited.then(() => setTimeout(() => {
          if (waiters.includes(check)) reject(new Error(`exited before ${re}: ${cmd} ${args.join(' ')}\n${s.out()}\n${s.err()}`));
        }, 50));
        waiters.push(check);
        check();
      }),
  };
  started.add(s);
  void exited.then(() => started.delete(s));
  return s;
}

/** Kills whatever start() left running (afterEach). */
export async function killStarted(): Promise<void> {
  const all = [...started];
  for (const s of all) s.child.kill('SIGKILL');
  await Promise.all(all.map((s) => s.exited));
}
