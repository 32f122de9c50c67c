// One serial device kept open: opened at start, reopened with backoff (1 s doubling to 30 s) when
// it fails to open, closes or errors (unplugged, reset). Its state is published retained on
// $SYS/broker/serial/NAME/state (1 open, 0 closed). The framing above it sees opened/data/closed.
import type { SerialPort as SerialPortT } from 'serialport';
import type { Broker } from '../../broker/broker.ts';
import { makeMessage } from '../../broker/message.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { rateLimit } from '../../util/rate-limit.ts';
import { findDevice } from './device.ts';

export type SerialPortClass = typeof SerialPortT;

/** Running serial links (or one): what server.ts closes. */
export interface SerialRunning {
  close(): Promise<void>;
  /** HTTP: the links' ports, for their state and counters. */
  keepers?: PortKeeper[];
}

export interface LinkEvents {
  opened(): void;
  data(chunk: Buffer): void;
  closed(why: string): void;
  /** The write buffer emptied after `writable` went false. */
  drain?(): void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** Bytes waiting in the port's write buffer beyond which the link counts as backed up. */
const HIGH_WATER = 64 * 1024;

export class PortKeeper {
  private port: SerialPortT | null = null;
  private isOpen = false;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Logs one "cannot open" line per failure streak, not one per retry. */
  private complained = false;
  private readonly logDrop = rateLimit();
  /** HTTP: bytes read and written and frames or lines dropped, for the API and /metrics. */
  declare counts: { rx: number; tx: number; drops: number };

  constructor(
    private readonly broker: Broker,
    readonly cfg: SerialLinkConfig,
    private readonly SerialPort: SerialPortClass,
    private readonly events: LinkEvents,
  ) {
    if (HTTP) this.counts = { rx: 0, tx: 0, drops: 0 };
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** True while writes go out without piling up. */
  get writable(): boolean {
    return this.isOpen && (this.port as SerialPortT).writableLength < HIGH_WATER;
  }

  start(): void {
    this.state(0);
    this.tryOpen();
  }

  write(buf: Buffer): void {
    if (!this.isOpen) return;
    (this.port as SerialPortT).write(buf);
    if (HTTP) this.counts.tx += buf.length;
  }

  /** Stops (or starts again) reading the device: flow control paces a link's publishes. */
  reading(on: boolean): void {
    if (on) this.port?.resume();
    else this.port?.pause();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const port = this.port;
    const wasOpen = this.isOpen;
    this.port = null;
    this.isOpen = false;
    if (wasOpen) this.events.closed('broker shutting down');
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  /** `n` things dropped so far: logs the first drop, then one in 1000, so noise cannot flood the log. */
  dropped(n: number, what: string): void {
    if (HTTP) this.counts.drops = n;
    if (this.logDrop(n)) log.notice(`Serial link ${this.cfg.name}: dropped ${what} (${n} so far).`);
  }

  private state(v: 0 | 1): void {
    this.broker.publish(makeMessage(`$SYS/broker/serial/${this.cfg.name}/state`, Buffer.from(String(v)), 0, true));
  }

  private tryOpen(): void {
    if (this.stopped) return;
    const path = findDevice(this.cfg.device);
    if (!path) return this.retry(`no device matches '${this.cfg.device}'`);
    let port: SerialPortT;
    try {
      port = new this.SerialPort({ path, baudRate: this.cfg.baud, autoOpen: false });
    } catch (err) {
      return this.retry(`${path}: ${(err as Error).message}`);
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port !== port) return;
      if (HTTP) this.counts.rx += chunk.length;
      this.events.data(chunk);
    });
    port.on('drain', () => {
      if (this.port === port) this.events.drain?.();
    });
    port.on('error', (err: Error) => this.lost(port, `${path}: ${err.message}`));
    port.on('close', () => this.lost(port, `${path} closed`));
    port.open((err) => {
      // Stopped (or lost) while opening: do not keep the device.
      if (this.port !== port) {
        if (!err) port.close(() => {});
        return;
      }
      if (err) {
        this.port = null;
        return this.retry(`${path}: ${err.message}`);
      }
      this.isOpen = true;
      this.retryMs = FIRST_RETRY_MS;
      this.complained = false;
      log.notice(`Serial link ${this.cfg.name} open on ${path} at ${this.cfg.baud} baud (${this.cfg.framing}).`);
      this.state(1);
      this.events.opened();
    });
  }

  /** The device went away: tell the framing (wills fire), close what is left, retry. */
  private lost(port: SerialPortT, why: string): void {
    if (this.port !== port || this.stopped) return;
    this.port = null;
    const wasOpen = this.isOpen;
    this.isOpen = false;
    if (port.isOpen) port.close(() => {});
    if (wasOpen) {
      this.state(0);
      this.events.closed(why);
    }
    this.retry(why);
  }

  private retry(why: string): void {
    if (this.stopped) return;
    const s = this.retryMs / 1000;
    if (!this.complained) log.warning(`Serial link ${this.cfg.name}: ${why}; retrying in ${s} s (then up to every ${MAX_RETRY_MS / 1000} s).`);
    this.complained = true;
    this.timer = setTimeout(() => this.tryOpen(), this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
