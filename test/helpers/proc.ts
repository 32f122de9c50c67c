// Child processes for tests (mosquitto_sub, mosquitto_pub, a bundled broker): their output as
// lines one can wait for, their exit as a promise, and a registry so that afterEach can kill
// whatever a failed test left running.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Stream = 'stdout' | 'stderr';
type Match = string | RegExp | ((line: string) => boolean);

interface Waiter {
  stream: Stream;
  test: (line: string) => boolean;
  resolve: (line: string) => void;
}

const live = new Set<Proc>();

/** `env` replaces the environment (default: this process's). */
export interface ProcOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

function matcher(m: Match): (line: string) => boolean {
  if (typeof m === 'string') return (l) => l.includes(m);
  if (m instanceof RegExp) return (l) => m.test(l);
  return m;
}

export class Proc {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private waiters: Waiter[] = [];
  private spawnError: Error | undefined;

  constructor(readonly cmd: string, readonly args: string[], opts: ProcOptions = {}) {
    this.child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      this.child[stream]!.setEncoding('utf8');
      this.child[stream]!.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const line of parts) this.line(stream, line);
      });
      this.child[stream]!.on('end', () => {
        if (partial) this.line(stream, partial);
        partial = '';
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.spawnError = err;
        live.delete(this);
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
      // 'close' rather than 'exit': all output has been read by then.
      this.child.once('close', (code, signal) => {
        live.delete(this);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  private line(stream: Stream, line: string): void {
    this[stream].push(line);
    for (const w of this.waiters.slice()) {
      if (w.stream === stream && w.test(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** What the process printed, for failure messages. */
  describe(): string {
    const status = this.spawnError
      ? `failed to start: ${this.spawnError.message}`
      : this.exit
        ? `exited with code ${this.exit.code} signal ${this.exit.signal}`
        : 'still running';
    return `${this.cmd} ${this.args.join(' ')}: ${status}\n--- stdout\n${this.stdout.join('\n')}\n--- stderr\n${this.stderr.join('\n')}`;
  }

  /**
   * The first line of `stream` (printed so far or later) that matches. Rejects if the process
   * exits first or nothing matches within `ms`.
   */
  waitFor(m: Match, ms = 5000, stream: Stream = 'stdout'): Promise<string> {
    const test = matcher(m);
    const seen = this[stream].find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        stream,
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const fail = (why: string): void => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        clearTimeout(timer);
        reject(new Error(`${why} waiting for ${String(m)} on ${stream}\n${this.describe()}`));
      };
      this.waiters.push(w);
      timer = setTimeout(() => fail(`timeout after ${ms} ms`), ms);
      void this.exited.then(() => fail('process exited'));
    });
  }

  /** Waits for the exit; rejects (after SIGKILL) if it takes longer than `ms`. */
  async waitExit(ms = 5000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const msg = `no exit within ${ms} ms\n${this.describe()}`;
        this.kill('SIGKILL');
        reject(new Error(msg));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exit && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

export function spawnProc(cmd: string, args: string[], opts: ProcOptions = {}): Proc {
  return new Proc(cmd, args, opts);
}

/** Runs a command to completion; rejects if it does not exit within `ms`. */
export async function run(cmd: string, args: string[], ms = 10_000, opts: ProcOptions = {}): Promise<Proc & { exit: Exit }> {
  const p = new Proc(cmd, args, opts);
  await p.waitExit(ms);
  return p as Proc & { exit: Exit };
}

/** SIGKILLs every process spawned here that is still running, and waits for them. For afterEach. */
export async function killAll(): Promise<void> {
  const procs = [...live];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}
