// Logging in Mosquitto's style: one line per event, a timestamp (log_timestamp, in Unix seconds or
// the log_timestamp_format), and types that `log_type` selects (error, warning, notice,
// information, debug, subscribe, unsubscribe, all, none). Destinations: stdout, stderr, a file,
// and syslog through the system `logger` command (Node cannot write to /dev/log itself).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';

export type LogType = 'error' | 'warning' | 'notice' | 'information' | 'debug' | 'subscribe' | 'unsubscribe';

export interface LogDest {
  kind: 'stdout' | 'stderr' | 'file' | 'syslog';
  path?: string;
}

const DEFAULT_TYPES: LogType[] = ['error', 'warning', 'notice', 'information'];

/** Syslog severities of the log types, as Mosquitto maps them (the others are notice). */
const SEVERITY: Record<string, string> = { error: 'err', warning: 'warning', information: 'info', debug: 'debug', websockets: 'debug' };

/**
 * strftime(3) in local time, for log_timestamp_format. Conversions: %Y %y %m %d %e %H %M %S %s %a
 * %b %z %F %T %%; others are kept as written.
 */
export function strftime(fmt: string, d: Date): string {
  const o = -d.getTimezoneOffset();
  // The local time's fields, read from an ISO string shifted by the offset.
  const i = new Date(+d + o * 6e4).toISOString();
  const at = (a: number, b: number): string => i.slice(a, b);
  const v: Record<string, unknown> = {
    Y: at(0, 4),
    y: at(2, 4),
    m: at(5, 7),
    d: at(8, 10),
    e: ('' + +at(8, 10)).padStart(2),
    H: at(11, 13),
    M: at(14, 16),
    S: at(17, 19),
    F: at(0, 10),
    T: at(11, 19),
    s: Math.floor(+d / 1e3),
    a: 'SunMonTueWedThuFriSat'.substr(d.getDay() * 3, 3),
    b: 'JanFebMarAprMayJunJulAugSepOctNovDec'.substr(+at(5, 7) * 3 - 3, 3),
    z: (o < 0 ? '-' : '+') + new Date(Math.abs(o) * 6e4).toISOString().slice(11, 16).replace(':', ''),
    '%': '%',
  };
  return fmt.replace(/%(.)/g, (all, c: string) => (c in v ? '' + v[c] : all));
}

export class Log {
  private types = new Set<string>(DEFAULT_TYPES);
  private dests: LogDest[] = [{ kind: 'stderr' }];
  /** true = Unix seconds, false = no timestamp, a string = a strftime format. */
  private stamp: boolean | string = true;
  private facility = 'daemon';
  /** One `logger` process per facility.severity, started at its first line. */
  private loggers: Record<string, ChildProcess> = {};

  /** `facility` N is syslog's localN (log_facility); undefined keeps daemon. */
  configure(types: Set<string> | undefined, dests: LogDest[] | undefined, stamp?: boolean | string, facility?: number): void {
    if (types) this.types = types;
    if (dests && dests.length) this.dests = dests;
    if (stamp !== undefined) this.stamp = stamp;
    if (facility !== undefined) this.facility = `local${facility}`;
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
    const s = this.stamp;
    const line = `${s === true ? Math.floor(Date.now() / 1000) + ': ' : s ? strftime(s, new Date()) + ': ' : ''}${msg}\n`;
    for (const d of this.dests) {
      if (d.kind === 'stdout') process.stdout.write(line);
      else if (d.kind === 'stderr') process.stderr.write(line);
      else if (d.kind === 'syslog') this.syslog(`${this.facility}.${SEVERITY[type] ?? 'notice'}`, msg);
      else if (d.path) {
        try { appendFileSync(d.path, line); } catch { /* a full disk must not stop the broker */ }
      }
    }
  }

  /** Syslog adds its own timestamp: the message goes as is, tagged `midge`. */
  private syslog(priority: string, msg: string): void {
    let p = this.loggers[priority];
    if (!p) {
      p = this.loggers[priority] = spawn('logger', ['-t', 'midge', '-p', priority], { stdio: ['pipe', 'ignore', 'inherit'] });
      // A logger that fails or exits loses lines; it must not stop the broker.
      p.on('error', () => {});
      p.stdin!.on('error', () => {});
    }
    p.stdin!.write(msg + '\n');
  }
}

/** The process-wide logger; configured once from the config file. */
export const log = new Log();
