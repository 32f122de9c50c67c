// Debian's mosquitto_pub and mosquitto_sub against a broker on 127.0.0.1 (the interop tests).
import { expect } from 'vitest';
import { run, spawnProc, type Proc } from './proc.ts';

export function mosquittoCli(port: () => number): {
  host: () => string[];
  pub: (...args: string[]) => Promise<void>;
  sub: (name: string, ...args: string[]) => Promise<Proc>;
} {
  const host = (): string[] => ['-h', '127.0.0.1', '-p', String(port())];

  /** Runs mosquitto_pub to completion and expects success. */
  async function pub(...args: string[]): Promise<void> {
    const p = await run('mosquitto_pub', [...host(), ...args]);
    expect(p.exit.code, p.describe()).toBe(0);
  }

  /**
   * Starts mosquitto_sub and resolves once it is subscribed: it must subscribe to `ready/<name>`
   * (through one of its filters), and prints the retained marker published there first (the
   * broker sends retained messages only after it has processed the SUBSCRIBE). -W 15 makes it
   * exit on its own if a test goes wrong.
   */
  async function sub(name: string, ...args: string[]): Promise<Proc> {
    await pub('-t', `ready/${name}`, '-m', 'ready', '-r', '-q', '1');
    const s = spawnProc('mosquitto_sub', [...host(), '-W', '15', ...args]);
    await s.waitFor((l) => l.startsWith(`ready/${name} `) || l.startsWith(`ready/${name}|`));
    return s;
  }

  return { host, pub, sub };
}
