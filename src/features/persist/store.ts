// The running side of persistence: the core's Store hooks write journal records, a group commit
// makes each event-loop turn's records durable with one write (and fsync), and snapshots fold the
// journal in. See format.ts for the files and docs/persistence.md for persistence_sync.
import { closeSync, fsync, fsyncSync, openSync, renameSync, unlinkSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Broker } from '../../broker/broker.ts';
import type { Message } from '../../broker/message.ts';
import type { Outbound, Session } from '../../broker/session.ts';
import type { AckTarget, Store } from '../../broker/store.ts';
import { log } from '../../util/log.ts';
import {
  header, KIND_JOURNAL, KIND_SNAPSHOT, R_DONE, R_DROP, R_IN, R_INREL, R_REL, R_SENT, R_SESSION,
  R_UNSUB, R_USER, RecordWriter,
} from './format.ts';
import { dump, retainRecord, subRecord, writeStored } from './image.ts';
import { expiryOf, expiryRecord } from './mqtt5.ts';

export type SyncMode = 'never' | 'interval' | 'always';

export interface StoreOptions {
  file: string;
  sync: SyncMode;
  /** Seconds between snapshots, or changes between snapshots with onChanges; 0 = only at exit. */
  autosaveInterval: number;
  autosaveOnChanges: boolean;
}

/** Takes the records of persistence_sync never, which keeps no journal. */
const drop = (): RecordWriter => NO_RECORD;
const NO_RECORD = { u8: drop, u16: drop, u32: drop, str: drop, bin: drop, end() {} } as unknown as RecordWriter;

/** Seconds between fsyncs of the journal with persistence_sync interval. */
const SYNC_SECONDS = 1;
/** A journal this much larger than the last snapshot (and over JOURNAL_MIN bytes) is folded in early. */
const JOURNAL_FACTOR = 4;
const JOURNAL_MIN = 4 << 20;

function fsyncDir(path: string): void {
  // Makes a rename durable. Some file systems refuse to open directories; the rename still stands.
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` to `path` crash-safely: temporary file, fsync, rename, fsync of the directory. */
function replaceFile(path: string, data: Buffer[], keepOpen: boolean): number | undefined {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    for (const d of data) {
      let off = 0;
      while (off < d.length) off += writeSync(fd, d, off, d.length - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  renameSync(tmp, path);
  fsyncDir(path);
  if (keepOpen) return fd;
  closeSync(fd);
  return undefined;
}

export class PersistStore implements Store {
  private readonly journalPath: string;
  private readonly journaling: boolean;
  private readonly w = new RecordWriter();
  private ids = new WeakMap<Message, number>();
  /** Username of each persistent session's last connection (for snapshots). */
  readonly users = new Map<string, string | undefined>();
  private nextId = 1;
  private generation: number;
  private fd: number | undefined;
  private changes = 0;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private scheduled = false;
  private flushing = false;
  private syncDue = false;
  private unsynced = false;
  private saveWanted = false;
  private failed = false;
  /** Deferred writes waiting for the records now in `w`, in order. */
  private waitTo: AckTarget[] = [];
  private waitBuf: Buffer[] = [];
  private idle: (() => void) | undefined;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly broker: Broker,
    private readonly opts: StoreOptions,
    generation: number,
  ) {
    this.journalPath = `${opts.file}.journal`;
    this.journaling = opts.sync !== 'never';
    this.generation = generation;
  }

  /**
   * Writes the first snapshot if the loaded files need folding, else only a fresh journal that
   * continues the snapshot (message ids from `nextId` on); then starts the timers.
   */
  start(fold: boolean, nextId: number, snapshotBytes: number): void {
    if (fold) this.save();
    else {
      this.nextId = nextId;
      this.snapshotBytes = snapshotBytes;
      this.startJournal(this.generation);
    }
    const every = (seconds: number, fn: () => void): void => {
      const t = setInterval(fn, seconds * 1000);
      t.unref();
      this.timers.push(t);
    };
    if (this.opts.autosaveInterval > 0 && !this.opts.autosaveOnChanges) {
      every(this.opts.autosaveInterval, () => {
        if (this.changes > 0) this.save();
      });
    }
    if (this.opts.sync === 'interval') {
      every(SYNC_SECONDS, () => {
        if (this.unsynced || this.w.length > 0) {
          this.syncDue = true;
          this.schedule();
        }
      });
    }
  }

  // ---- Store hooks ----

  retained(msg: Message): void {
    if (msg.topic.startsWith('$SYS')) return; // regenerated at start-up, never persisted
    if (this.journaling) retainRecord(this.w, msg);
    this.changed();
  }

  sessionAdded(s: Session): void {
    this.record(R_SESSION, s).end();
  }

  sessionRemoved(s: Session): void {
    this.users.delete(s.clientId);
    this.record(R_DROP, s).end();
  }

  connected(s: Session, username: string | undefined): void {
    // MQTT 5: every CONNECT says the Session Expiry Interval anew.
    if (MQTT5 && expiryOf(s) !== undefined) {
      if (this.journaling) expiryRecord(this.w, s);
      this.changed();
    }
    if (this.users.has(s.clientId) && this.users.get(s.clientId) === username) return;
    this.users.set(s.clientId, username);
    const w = this.record(R_USER, s).u8(username === undefined ? 0 : 1);
    if (username !== undefined) w.str(username);
    w.end();
  }

  subscribed(s: Session, filter: string, o: number): void {
    if (this.journaling) subRecord(this.w, s.clientId, filter, o);
    this.changed();
  }

  unsubscribed(s: Session, filter: string): void {
    this.record(R_UNSUB, s).str(filter).end();
  }

  stored(s: Session, ob: Outbound): void {
    if (this.journaling) this.nextId = writeStored(this.w, s.clientId, ob, this.ids, this.nextId);
    this.changed();
  }

  sent(s: Session, ob: Outbound): void {
    this.idRecord(R_SENT, s, ob.packetId);
  }

  released(s: Session, packetId: number): void {
    this.idRecord(R_REL, s, packetId);
  }

  completed(s: Session, packetId: number): void {
    this.idRecord(R_DONE, s, packetId);
  }

  inbound(s: Session, packetId: number, pending: boolean): void {
    this.idRecord(pending ? R_IN : R_INREL, s, packetId);
  }

  defer(to: AckTarget, buf: Buffer): boolean {
    if (this.opts.sync !== 'always') return false;
    if (!this.flushing && this.w.length === 0 && this.waitTo.length === 0) return false;
    this.waitTo.push(to);
    this.waitBuf.push(buf);
    this.schedule();
    return true;
  }

  // ---- journal ----

  private idRecord(type: number, s: Session, packetId: number): void {
    this.record(type, s).u16(packetId).end();
  }

  /** A change: its journal record begun (with the session's client id), or a writer that drops it. */
  private record(type: number, s?: Session): RecordWriter {
    this.changed();
    if (!this.journaling) return NO_RECORD;
    this.w.begin(type);
    return s ? this.w.str(s.clientId) : this.w;
  }

  private changed(): void {
    this.changes++;
    if (this.journaling) this.schedule();
    if (this.opts.autosaveOnChanges && this.opts.autosaveInterval > 0 && this.changes >= this.opts.autosaveInterval) {
      this.saveWanted = true;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  /** One group commit: this turn's records in one write, then fsync, then the deferred writes. */
  private flush(): void {
    this.scheduled = false;
    if (this.flushing || this.closed) return;
    if (this.saveWanted) {
      this.save();
      return;
    }
    const sync = this.opts.sync === 'always' || this.syncDue;
    if (this.w.length === 0 && !(sync && this.unsynced)) {
      this.release(this.waitTo, this.waitBuf);
      return;
    }
    const data = this.w.take();
    const to = this.waitTo;
    const bufs = this.waitBuf;
    this.waitTo = [];
    this.waitBuf = [];
    this.syncDue = false;
    this.flushing = true;
    const fd = this.fd;
    const done = (err: Error | null): void => {
      this.flushing = false;
      if (err) this.failure(err);
      else this.failed = false;
      this.release(to, bufs);
      if (this.idle) this.idle();
      else if (this.saveWanted || this.w.length > 0 || this.waitTo.length > 0) this.schedule();
    };
    if (fd === undefined) return done(null); // journal unavailable after an error: logged
    const afterWrite = (off: number): void => {
      if (off < data.length) {
        write(fd, data, off, data.length - off, null, (err, n) => (err ? done(err) : afterWrite(off + n)));
        return;
      }
      this.journalBytes += data.length;
      if (this.journalBytes > JOURNAL_MIN && this.journalBytes > this.snapshotBytes * JOURNAL_FACTOR) this.saveWanted = true;
      if (!sync) {
        this.unsynced = true;
        return done(null);
      }
      this.unsynced = false;
      fsync(fd, done);
    };
    afterWrite(0);
  }

  private release(to: AckTarget[], bufs: Buffer[]): void {
    for (let i = 0; i < to.length; i++) to[i].write(bufs[i]);
    if (to === this.waitTo) {
      this.waitTo = [];
      this.waitBuf = [];
    }
  }

  private failure(err: Error): void {
    // Clients are still answered (stalling them all would be worse), but loudly.
    if (!this.failed) log.error(`Writing ${this.journalPath} failed: ${err.message}; a crash may lose acknowledged messages.`);
    this.failed = true;
  }

  // ---- snapshots ----

  /**
   * Writes a snapshot of the whole state, then an empty journal of the new generation. Pending
   * journal records are dropped: the snapshot contains their effect. Synchronous, so nothing
   * changes meanwhile; if a journal write is in flight it runs after it.
   */
  save(): void {
    if (this.flushing) {
      this.saveWanted = true;
      return;
    }
    this.saveWanted = false;
    const gen = this.generation + 1;
    const w = new RecordWriter();
    const ids = new WeakMap<Message, number>();
    const next = dump(this.broker, w, ids, this.users);
    const body = w.take();
    try {
      replaceFile(this.opts.file, [header(KIND_SNAPSHOT, gen), body], false);
    } catch (err) {
      log.error(`Saving ${this.opts.file} failed: ${(err as Error).message}.`);
      this.schedule(); // the waiting records go to the old journal instead
      return;
    }
    this.generation = gen;
    this.snapshotBytes = body.length;
    this.w.take();
    this.ids = ids;
    this.nextId = next;
    this.changes = 0;
    this.unsynced = false;
    this.startJournal(gen);
    this.release(this.waitTo, this.waitBuf);
  }

  /** Replaces the journal by an empty one of generation `gen` (or removes it: sync never). */
  private startJournal(gen: number): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      if (this.journaling) {
        this.fd = replaceFile(this.journalPath, [header(KIND_JOURNAL, gen)], true);
        this.journalBytes = 0;
      } else {
        unlinkSync(this.journalPath);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') log.error(`Starting ${this.journalPath} failed: ${(err as Error).message}; only snapshots save changes.`);
    }
  }

  /** Waits for a journal write in flight, saves a last snapshot and closes the files. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.closed = true;
    if (this.flushing) await new Promise<void>((resolve) => (this.idle = resolve));
    this.save();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.broker.store = undefined;
  }
}
