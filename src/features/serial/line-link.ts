// A text-line link (framing line): the device writes `topic payload` or `topic=payload` lines,
// published as any client's message would be; messages on the link's subscriptions are written
// back as `topic payload\n`. `+sub FILTER` / `-sub FILTER` lines change the subscriptions. While
// the device is open the link is a broker session through this Outlet (clean, QoS 0).
import type { Broker } from '../../broker/broker.ts';
import type { Paced } from '../../broker/flow.ts';
import type { Message } from '../../broker/message.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Session } from '../../broker/session.ts';
import { topicFilterError, topicNameError } from '../../codec/validate.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { ingest } from '../../broker/ingest.ts';
import { log } from '../../util/log.ts';
import { LineDecoder } from './framing.ts';
import { PortKeeper, type SerialPortClass } from './port.ts';

/** Subscriptions a device may add with `+sub` (bounded: a chatty device cannot grow the tree). */
const MAX_SUBSCRIPTIONS = 64;
const SPACE = Buffer.from(' ');
const NL = Buffer.from('\n');

export class LineLink implements Outlet, Paced {
  readonly name: string;
  /** Lines that were not a valid publish or command. */
  private invalid = 0;
  private session: Session | null = null;
  private readonly decoder: LineDecoder;
  /** Read by HTTP (the link's counters). */
  readonly keeper: PortKeeper;
  /** Flow control (broker/flow.ts): sessions whose full queues this link's publishes wait on. */
  waitCount = 0;
  /** While paced: the lines read after the one that filled a queue (the device is not read). */
  private heldLines: string[] | undefined = undefined;

  constructor(
    private readonly broker: Broker,
    private readonly cfg: SerialLinkConfig,
    SerialPort: SerialPortClass,
  ) {
    this.name = `serial/${cfg.name}`;
    this.decoder = new LineDecoder(cfg.maxLine);
    this.keeper = new PortKeeper(broker, cfg, SerialPort, {
      opened: () => this.opened(),
      data: (chunk) => {
        const before = this.decoder.dropped;
        this.decoder.push(chunk, (line) => this.line(line));
        if (this.decoder.dropped !== before) this.keeper.dropped(this.dropped, `a line over ${cfg.maxLine} bytes or not UTF-8`);
      },
      closed: () => this.detach(),
      // What the session queued while the device was backed up goes out now.
      drain: () => this.session?.pump(true),
    });
  }

  start(): void {
    this.keeper.start();
  }

  stop(): Promise<void> {
    return this.keeper.stop();
  }

  // ---- Outlet ----

  get writable(): boolean {
    return this.keeper.writable;
  }

  readonly online = true;

  sendPublish(msg: Message): void {
    this.broker.stats.messagesSent++;
    this.keeper.write(Buffer.concat([Buffer.from(msg.topic), SPACE, msg.payload, NL]));
  }

  sendPubrel(): void {
    // Subscriptions are QoS 0: nothing to release.
  }

  close(reason: string): void {
    log.notice(`Serial link ${this.cfg.name}: session closed (${reason}).`);
    this.detach();
  }

  // ---- device ----

  private opened(): void {
    const { session } = this.broker.attach(`midge-serial-${this.cfg.name}`, true, undefined, this);
    this.session = session;
    for (const f of this.cfg.subscribe) this.subscribe(f);
  }

  private detach(): void {
    const s = this.session;
    this.session = null;
    this.heldLines = undefined;
    if (s && s.outlet === this) this.broker.detach(s, false);
  }

  private subscribe(filter: string): void {
    const s = this.session as Session;
    this.broker.subscribe(s, filter, 0);
    this.broker.sendRetained(s, filter, 0);
  }

  releasePaced(): void {
    const lines = this.heldLines ?? [];
    this.heldLines = undefined;
    for (let i = 0; i < lines.length; i++) {
      this.line(lines[i]);
      // Paced again: the rest wait again.
      if (this.heldLines) return void (this.heldLines as string[]).push(...lines.slice(i + 1));
    }
    this.keeper.reading(true);
  }

  private line(text: string): void {
    if (this.heldLines) return void this.heldLines.push(text);
    const s = this.session;
    if (!s || text.length === 0) return;
    if (text.startsWith('+sub ') || text.startsWith('-sub ')) {
      const filter = text.slice(5).trim();
      if (topicFilterError(filter)) return this.drop(`invalid filter in '${text.slice(0, 60)}'`);
      if (text[0] === '-') this.broker.unsubscribe(s, filter);
      else if (s.subscriptions.size >= MAX_SUBSCRIPTIONS && !s.subscriptions.has(filter)) this.drop(`more than ${MAX_SUBSCRIPTIONS} subscriptions`);
      else this.subscribe(filter);
      return;
    }
    // The first space or '=' ends the topic; the rest of the line is the payload.
    let sep = text.indexOf(' ');
    const eq = text.indexOf('=');
    if (eq >= 0 && (sep < 0 || eq < sep)) sep = eq;
    if (sep <= 0) return this.drop(`no 'topic payload' in '${text.slice(0, 60)}'`);
    const topic = this.cfg.prefix + text.slice(0, sep);
    if (topicNameError(topic)) return this.drop(`invalid topic '${topic.slice(0, 60)}'`);
    const payload = Buffer.from(text.slice(sep + 1));
    // A QoS 1/2 subscriber's queue is full: read nothing more until it has room.
    if (ingest(this.broker, this, undefined, topic, payload, this.cfg.qos, this.cfg.retain, this) && this.waitCount > 0) {
      this.heldLines = [];
      this.keeper.reading(false);
    }
  }

  /** Lines dropped: too long, not UTF-8, or not a valid publish or command. */
  get dropped(): number {
    return this.invalid + this.decoder.dropped;
  }

  private drop(why: string): void {
    this.invalid++;
    this.keeper.dropped(this.dropped, why);
  }
}
