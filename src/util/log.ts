// Logging in Mosquitto's style: one line per event, a Unix timestamp, and types that `log_type`
// selects (error, warning, notice, information, debug, subscribe, unsubscribe, all, none).
import { appendFileSync } from 'node:fs';

export type LogType = 'error' | 'warning' | 'notice' | 'information' | 'debug' | 'subscribe' | 'unsubscribe';

export interface LogDest {
  kind: 'stdout' | 'stderr' | 'file';
  path?: string;
}

const DEFAULT_TYPES: LogType[] = ['error', 'warning', 'notice', 'information'];

export class Log {
  private types = new Set<string>(DEFAULT_TYPES);
  private dests: LogDest[] = [{ kind: 'stderr' }];

  configure(types: Set<string> | undefined, dests: LogDest[] | undefined): void {
    if (types) this.types = types;
    if (dests && dests.length) this.dests = dests;
  }

  enabled(type: LogType): boolean {
    return this.types.has(type);
  }

  error(msg: string): void { this.write('error', msg); }
  warning(msg: string): void { this.write('warning', msg); }
  notice(msg: string): void { this.write('notice', msg); }
  info(msg: string): void { this.write('information', msg); }
  debug(msg: string): void { if (this.types.has('debug')) this.write('debug', msg); }

  write(type: LogType, msg: string): void {
    if (!this.types.has(type)) return;
    const line = `${Math.floor(Date.now() / 1000)}: ${msg}\n`;
    for (const d of this.dests) {
      if (d.kind === 'stdout') process.stdout.write(line);
      else if (d.kind === 'stderr') process.stderr.write(line);
      else if (d.path) {
        try { appendFileSync(d.path, line); } catch { /* a full disk must not stop the broker */ }
      }
    }
  }
}

/** The process-wide logger; configured once from the config file. */
export const log = new Log();
