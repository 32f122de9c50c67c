// A session: the protocol-independent state of one client id. It outlives its connection unless
// clean, and owns the delivery rules: the in-flight window for QoS 1/2 and a bounded queue.
//
// Queue policy (README "Limits"): while the outlet is backed up or the in-flight window is full,
// messages wait in the session queue, up to max_queued_messages. When the queue is full a new
// message is dropped and counted (QoS 0 and QoS 1/2 alike). QoS 0 messages are not queued for an
// offline session (as Mosquitto's default queue_qos0_messages false).
import type { QoS, Will } from '../codec/packets.ts';
import type { Message } from './message.ts';
import type { Outlet } from './outlet.ts';
import type { Store } from './store.ts';
import type { Subscriber } from './topic-tree.ts';

export interface Limits {
  maxInflight: number; // 0 = unlimited
  maxQueued: number; // 0 = unlimited
}

/** An outbound message waiting for, or in, the in-flight window. */
export interface Outbound {
  msg: Message;
  qos: QoS;
  retain: boolean;
  packetId: number;
  /** QoS 2 after PUBREC: PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
}

export class Session implements Subscriber {
  matchGen = 0;
  matchQos: QoS = 0;

  outlet: Outlet | null = null;
  /** filter → granted QoS. */
  readonly subscriptions = new Map<string, QoS>();
  will: Will | undefined;
  /** Inbound QoS 2 packet ids received and passed on, awaiting PUBREL (exactly-once). */
  readonly inboundQos2 = new Set<number>();
  /** Seconds (broker clock) when the session was last disconnected; for expiry. */
  disconnectedAt = 0;
  dropped = 0;
  /** Persistence hooks; set by the broker for non-clean sessions when persistence is on. */
  store: Store | undefined = undefined;

  private readonly inflight = new Map<number, Outbound>();
  private queue: Outbound[] = [];
  private queueHead = 0;
  private nextId = 1;

  constructor(
    readonly clientId: string,
    public clean: boolean,
    private readonly limits: Limits,
    /** Called when a message is dropped: the broker counts and logs. */
    private readonly onDrop: (s: Session, msg: Message) => void,
  ) {}

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Deliver `msg` at the given (already downgraded) QoS. */
  deliver(msg: Message, qos: QoS, retain: boolean): void {
    const outlet = this.outlet;
    if (qos === 0) {
      if (outlet) {
        if (outlet.writable && this.queued === 0) outlet.sendPublish(msg, 0, 0, false, retain);
        else this.enqueue({ msg, qos, retain, packetId: 0, released: false });
      }
      return;
    }
    const ob: Outbound = { msg, qos, retain, packetId: 0, released: false };
    if (outlet && outlet.writable && this.queued === 0 && this.windowOpen()) {
      this.store?.stored(this, ob);
      this.sendNew(outlet, ob);
    } else if (this.enqueue(ob)) this.store?.stored(this, ob);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived: the message is done. */
  complete(packetId: number, qos: QoS): boolean {
    const ob = this.inflight.get(packetId);
    if (!ob || ob.qos !== qos || (qos === 2 && !ob.released)) return false;
    this.inflight.delete(packetId);
    this.store?.completed(this, packetId);
    this.pump();
    return true;
  }

  /** PUBREC arrived for a QoS 2 message: answer with PUBREL. */
  received(packetId: number): boolean {
    const ob = this.inflight.get(packetId);
    if (!ob || ob.qos !== 2) return false;
    ob.released = true;
    this.store?.released(this, packetId);
    this.outlet?.sendPubrel(packetId);
    return true;
  }

  /**
   * A connection (re)attached: resend unacknowledged messages with DUP [MQTT-4.4.0-1], PUBRELs for
   * released ones, then whatever waits in the queue.
   */
  resume(outlet: Outlet): void {
    this.outlet = outlet;
    for (const ob of this.inflight.values()) {
      if (ob.released) outlet.sendPubrel(ob.packetId);
      else outlet.sendPublish(ob.msg, ob.qos, ob.packetId, true, ob.retain);
    }
    this.pump();
  }

  /** The outlet drained or the window opened: send what waits, as far as allowed. */
  pump(): void {
    const outlet = this.outlet;
    if (!outlet) return;
    while (this.queueHead < this.queue.length && outlet.writable) {
      const ob = this.queue[this.queueHead];
      if (ob.qos > 0 && !this.windowOpen()) break;
      this.queue[this.queueHead++] = undefined as unknown as Outbound;
      if (ob.qos === 0) outlet.sendPublish(ob.msg, 0, 0, false, ob.retain);
      else this.sendNew(outlet, ob);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Connection gone. QoS 0 messages waiting for it are discarded (not queued offline). */
  detach(now: number): void {
    this.outlet = null;
    this.disconnectedAt = now;
    if (this.queued) {
      const kept = this.queue.slice(this.queueHead).filter((ob) => ob.qos > 0);
      this.queue = kept;
      this.queueHead = 0;
    }
  }

  /** Clean start: forget everything but the identity. */
  reset(): void {
    this.subscriptions.clear();
    this.inflight.clear();
    this.inboundQos2.clear();
    this.queue = [];
    this.queueHead = 0;
  }

  /** QoS 1/2 messages held, in-flight ones first, each group oldest first (for persistence). */
  outbound(): Outbound[] {
    const held = [...this.inflight.values()];
    for (let i = this.queueHead; i < this.queue.length; i++) if (this.queue[i].qos > 0) held.push(this.queue[i]);
    return held;
  }

  /** Puts back a message read from storage: in flight if it has a packet id, else queued. */
  restore(ob: Outbound): void {
    if (ob.packetId) this.inflight.set(ob.packetId, ob);
    else this.queue.push(ob);
  }

  private windowOpen(): boolean {
    // 0 means unlimited, but packet ids cap the window at 65535.
    return this.inflight.size < (this.limits.maxInflight || 65535);
  }

  private sendNew(outlet: Outlet, ob: Outbound): void {
    ob.packetId = this.allocateId();
    this.inflight.set(ob.packetId, ob);
    this.store?.sent(this, ob);
    outlet.sendPublish(ob.msg, ob.qos, ob.packetId, false, ob.retain);
  }

  /** False when the queue is full and the message was dropped. */
  private enqueue(ob: Outbound): boolean {
    if (this.limits.maxQueued > 0 && this.queued >= this.limits.maxQueued) {
      this.dropped++;
      this.onDrop(this, ob.msg);
      return false;
    }
    this.queue.push(ob);
    return true;
  }

  private allocateId(): number {
    // Ids in use are at most the window size, so this loop ends quickly.
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }
}
