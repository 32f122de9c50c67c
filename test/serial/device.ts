// The test's end of a serial link: a socat pty pair (the broker opens one end, the test "is the
// Arduino" on the other), opened with serialport. Framing on this side uses serialport's own SLIP
// parser, an implementation independent of the one under test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort, SlipDecoder, SlipEncoder } from 'serialport';
import { decode, encode, type SnPacket } from '../../src/features/sn/codec.ts';
import { Inbox } from '../helpers/inbox.ts';
import { type Proc, spawnProc } from '../helpers/proc.ts';

/** A pty pair made by socat: `broker` is the device path for Midge, `board` the test's end. */
export class PtyPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'midge-serial-'));
  readonly broker = join(this.dir, 'ttyBROKER');
  readonly board = join(this.dir, 'ttyBOARD');
  proc: Proc | undefined;

  /** (Re)starts socat and waits until both links exist. */
  async start(): Promise<void> {
    this.proc = spawnProc('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.broker}`, `pty,raw,echo=0,link=${this.board}`]);
    await this.proc.waitFor('starting data transfer loop', 5000, 'stderr');
  }

  /** Unplug: socat dies, both ptys vanish. */
  async stop(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.proc?.exited;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  // Errors after a simulated unplug are expected; the test checks behaviour, not this end's errors.
  port.on('error', () => {});
  return port;
}

export function closePort(port: SerialPort | undefined): Promise<void> {
  if (!port?.isOpen) return Promise.resolve();
  return new Promise((r) => port.close(() => r()));
}

/** A board speaking text lines. */
export class LineBoard {
  readonly lines = new Inbox<string>();
  private partial = '';

  constructor(readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      const parts = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = parts.pop() as string;
      for (const l of parts) this.lines.add(l);
    });
  }

  write(data: string | Buffer): void {
    this.port.write(data);
  }

  next(line: string, ms?: number): Promise<string> {
    return this.lines.next((l) => l === line, `line '${line}'`, ms);
  }
}

/** A board speaking MQTT-SN, in SLIP frames or bare. */
export class SnBoard {
  readonly inbox = new Inbox<SnPacket>();
  private nextId = 1;
  private readonly encoder: SlipEncoder | undefined;

  constructor(
    readonly port: SerialPort,
    readonly slip: boolean,
  ) {
    if (slip) {
      const dec = port.pipe(new SlipDecoder());
      dec.on('data', (f: Buffer) => this.add(f));
      this.encoder = new SlipEncoder();
      this.encoder.pipe(port);
    } else {
      let buf = Buffer.alloc(0);
      port.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const n = buf[0] === 1 && buf.length >= 3 ? buf.readUInt16BE(1) : buf[0];
          if (!buf.length || buf.length < n) break;
          this.add(buf.subarray(0, n));
          buf = buf.subarray(n);
        }
      });
    }
  }

  /** Bytes that are not an MQTT-SN packet fail the test that waits, not the whole file. */
  private add(frame: Buffer): void {
    try {
      this.inbox.add(decode(frame));
    } catch {
      // ignored: the awaited packet then times out
    }
  }

  msgId(): number {
    return this.nextId++;
  }

  send(p: SnPacket | Buffer): void {
    const buf = Buffer.isBuffer(p) ? p : encode(p);
    if (this.encoder) this.encoder.write(buf);
    else this.port.write(buf);
  }

  next(type: number, ms?: number): Promise<SnPacket> {
    return this.inbox.next((p) => p.type === type, `MQTT-SN packet 0x${type.toString(16)}`, ms);
  }

  request(p: SnPacket, reply: number): Promise<SnPacket> {
    const r = this.next(reply);
    this.send(p);
    return r;
  }
}
