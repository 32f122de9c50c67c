// A session: the protocol-independent state of one client id. It outlives its connection unless
// clean, and owns the delivery rules: the in-flight window for QoS 1/2 and a bounded queue.
//
// Queue policy (docs/flow-control.md): while the outlet is backed up or the in-flight window is
// full, messages wait in the session queue. Limits: max_queued_messages and max_queued_bytes.
// - QoS 1/2, subscriber connected and making progress: always queued; at the limits the publisher
//   is paced (flow.ts), so what was acknowledged is never dropped here.
// - QoS 1/2, session offline or isStalled: queued up to the limits, then dropped and counted.
// - QoS 0: dropped when the whole queue is at the limits; queued for an offline session only with
//   queue_qos0_messages (Limits.queueQos0), within the same limits.
// - In flight: at most max_inflight_messages, and (max_inflight_bytes) new ones only while the
//   payload bytes in flight are under that limit (one larger message still goes, alone).
import type { QoS, Will } from '../codec/packets.ts';
import type { Access } from './access.ts';
import type { Flow } from './flow.ts';
import { ownPayload, type Message } from './message.ts';
import type { Paced } from './flow.ts';
import type { Outlet } from './outlet.ts';
import type { Store } from './store.ts';
import type { Subscriber } from './topic-tree.ts';
import type { Match5 } from './sub-options.ts';

export interface Limits {
  maxInflight: number; // 0 = unlimited
  maxQueued: number; // 0 = unlimited
  /** Payload bytes queued; 0 = unlimited (max_queued_bytes). */
  maxQueuedBytes: number;
  /** Payload bytes in flight; 0 = unlimited (max_inflight_bytes). */
  inflightByteLimit: number;
  /** Queue QoS 0 messages while offline (queue_qos0_messages). */
  queueQos0?: boolean;
}

/** An outbound message waiting for, or in, the in-flight window. */
export interface Outbound {
  msg: Message;
  qos: QoS;
  retain: boolean;
  packetId: number;
  /** QoS 2 after PUBREC: PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
  /** MQTT5: this subscriber's own PUBLISH properties (subscription identifiers). */
  x?: Buffer;
}

export class Session implements Subscriber {
  matchGen = 0;
  matchQos: QoS = 0;
  declare m5: Match5 | undefined;
  /**
   * Most QoS 1/2 messages in flight: max_inflight_messages (0 = unlimited, but packet ids cap it
   * at 65535), lowered by an MQTT 5 client's Receive Maximum [MQTT-3.3.4-9].
   */
  window: number;

  outlet: Outlet | null = null;
  // The collections below are created on first use: an idle connection's session should cost
  // next to nothing (an empty Map is a hash table of its own).
  private subs: Map<string, number> | undefined;
  private qos2: Set<number> | undefined;
  private inflightMap: Map<number, Outbound> | undefined;

  /** filter → options: the granted QoS, plus MQTT 5 options and id (broker/sub-options.ts). */
  get subscriptions(): Map<string, number> {
    return (this.subs ??= new Map());
  }
  will: Will | undefined;
  /** What the client may read and write (AUTH's ACL); undefined = everything. */
  access: Access | undefined = undefined;
  /** Inbound QoS 2 packet ids received and passed on, awaiting PUBREL (exactly-once). */
  get inboundQos2(): Set<number> {
    return (this.qos2 ??= new Set());
  }
  /** An inbound QoS 2 message `id` was passed on: until its PUBREL, a resend is acknowledged and not delivered [MQTT-4.3.3-2]. Journalled. */
  qos2Received(id: number): void {
    this.inboundQos2.add(id);
    if (PERSIST) this.store?.inbound(this, id, true);
  }

  /** PUBREL for inbound QoS 2 message `id`: its exchange is over. */
  qos2Released(id: number): void {
    if (this.qos2?.delete(id) && PERSIST) this.store?.inbound(this, id, false);
  }

  /** Seconds (broker clock) when the session was last disconnected; for expiry. */
  disconnectedAt = 0;
  dropped = 0;
  /** Dropping since the queue last emptied (or the client reconnected): logged once. */
  dropLogged = false;
  /** Publishers paced by this session's full queue (flow.ts). */
  pacedBy: Paced[] | undefined = undefined;
  /** Broker seconds of the last progress: an acknowledgement, a drain, a resume. */
  movedAt = 0;
  /** Connected but not moving for the stall limit: treated as offline until it moves. */
  isStalled = false;
  // Queued QoS 1/2 messages and their payload bytes; bytes of the whole queue.
  private queued12 = 0;
  private bytes12 = 0;
  private queuedBytes = 0;
  private inflightBytes = 0;
  /** Persistence hooks (feature PERSIST), set by the broker for non-clean sessions. */
  declare store: Store | undefined;
  /** MQTT5: Session Expiry Interval in seconds; undefined for 3.1/3.1.1 (persistent_client_expiration). */
  declare expiry: number | undefined;

  // In flight and queued messages: only the session changes them (persistence, shared
  // subscriptions and bridges go through restore, pending, takeBack, inFlight and abandon).
  private get inflight(): Map<number, Outbound> {
    return (this.inflightMap ??= new Map());
  }
  private queue: Outbound[] = [];
  private queueHead = 0;
  private nextId = 1;

  constructor(
    readonly clientId: string,
    public clean: boolean,
    private readonly limits: Limits,
    /** The broker's flow control: pacing, stalls, drops. */
    private readonly flow: Flow,
  ) {
    if (PERSIST) this.store = undefined; // one shape for every session
    if (MQTT5) {
      this.expiry = undefined;
      this.m5 = undefined;
    }
    this.window = limits.maxInflight || 65535;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get inflightCount(): number {
    return this.inflightMap?.size ?? 0;
  }

  /**
   * Deliver `msg` at the given (already downgraded) QoS. `retain` marks a retained message sent
   * for a new subscription: those may exceed the queue limit, since they already sit in the
   * retained store and a subscriber to '#' must get all of them. MQTT5: `x` are this subscriber's
   * PUBLISH properties; `rap` (Retain As Published) sends the message's own RETAIN flag. Returns
   * the QoS 1/2 message's Outbound (a shared subscription tracks what it gave).
   */
  deliver(msg: Message, qos: QoS, retain: boolean, x?: Buffer, rap?: boolean): Outbound | undefined {
    const outlet = this.outlet;
    const flag = MQTT5 && rap ? msg.retain : retain;
    if (qos === 0) {
      if (outlet && outlet.writable && this.queued === 0) outlet.sendPublish(msg, 0, 0, false, flag, x);
      else if (outlet || this.limits.queueQos0) this.enqueue({ msg, qos, retain: flag, packetId: 0, released: false, x }, retain);
      return;
    }
    const ob: Outbound = { msg, qos, retain: flag, packetId: 0, released: false, x };
    if (outlet && outlet.writable && this.queued === 0 && this.windowOpen()) {
      if (PERSIST) this.store?.stored(this, ob);
      this.sendNew(outlet, ob);
    } else this.enqueue(ob, retain);
    return ob;
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived: the message is done. */
  complete(packetId: number, qos: QoS): boolean {
    const ob = this.inflight.get(packetId);
    if (!ob || ob.qos !== qos || (qos === 2 && !ob.released)) return false;
    this.inflight.delete(packetId);
    this.inflightBytes -= ob.msg.payload.length;
    this.markMoved();
    if (PERSIST) this.store?.completed(this, packetId);
    this.pump();
    return true;
  }

  /** PUBREC arrived for a QoS 2 message: answer with PUBREL. */
  received(packetId: number): boolean {
    const ob = this.inflight.get(packetId);
    if (!ob || ob.qos !== 2) return false;
    ob.released = true;
    this.markMoved();
    if (PERSIST) this.store?.released(this, packetId);
    this.outlet?.sendPubrel(packetId);
    return true;
  }

  /**
   * An in-flight message that will not be acknowledged: the client refused it (MQTT 5 PUBREC
   * 0x80+, MQTT-SN return codes), or it was never sent (expired, too large, no topic id). Done,
   * without PUBREL; `pump` false when called from inside a pump (a send that gave up).
   */
  abandon(packetId: number, pump = true): void {
    const ob = this.inflightMap?.get(packetId);
    if (!ob) return;
    this.inflightMap!.delete(packetId);
    this.inflightBytes -= ob.msg.payload.length;
    if (PERSIST) this.store?.completed(this, packetId);
    if (pump) this.pump();
  }
  /**
   * A connection (re)attached: resend unacknowledged messages with DUP [MQTT-4.4.0-1], PUBRELs for
   * released ones, then whatever waits in the queue.
   */
  resume(outlet: Outlet): void {
    this.outlet = outlet;
    this.dropLogged = false;
    this.markMoved();
    if (this.inflightMap) for (const ob of this.inflightMap.values()) {
      if (ob.released) outlet.sendPubrel(ob.packetId);
      else outlet.sendPublish(ob.msg, ob.qos, ob.packetId, true, ob.retain, ob.x);
    }
    this.pump();
  }

  /** The outlet drained (progress, `drained`) or the window opened: send what waits, as far as allowed. */
  pump(drained?: boolean): void {
    const outlet = this.outlet;
    if (!outlet) return;
    if (drained) this.markMoved();
    while (this.queueHead < this.queue.length && outlet.writable) {
      const ob = this.queue[this.queueHead];
      if (ob.qos > 0 && !this.windowOpen()) break;
      this.queue[this.queueHead++] = undefined as unknown as Outbound;
      const n = ob.msg.payload.length;
      this.queuedBytes -= n;
      if (ob.qos === 0) outlet.sendPublish(ob.msg, 0, 0, false, ob.retain, ob.x);
      else {
        this.queued12--;
        this.bytes12 -= n;
        this.sendNew(outlet, ob);
      }
    }
    if (this.pacedBy && this.hasRoom()) this.flow.freePubs(this);
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      this.dropLogged = false;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Connection gone. QoS 0 messages waiting for it are discarded, unless queue_qos0_messages. */
  detach(now: number): void {
    this.outlet = null;
    this.disconnectedAt = now;
    this.isStalled = false;
    if (this.queued && !this.limits.queueQos0) {
      const kept = this.queue.slice(this.queueHead).filter((ob) => ob.qos > 0);
      this.queue = kept;
      this.queueHead = 0;
      this.recountQueue();
    }
    // An offline session pacesNow nobody.
    this.flow.freePubs(this);
  }

  /** Persistence at start-up: the messages in flight, queued, and inbound QoS 2 ids of a stored session. */
  restore(inflight: Iterable<[number, Outbound]>, queued: Outbound[], inbound: Iterable<number>): void {
    // The bodies of these feature-only methods sit behind their flag: a class keeps its methods.
    if (!PERSIST) return;
    for (const [id, ob] of inflight) {
      this.inflight.set(id, ob);
      this.inflightBytes += ob.msg.payload.length;
    }
    this.queue.push(...queued);
    for (const id of inbound) this.inboundQos2.add(id);
    this.recountQueue();
  }

  /** The QoS 1/2 messages held: in flight first, then queued, each group oldest first (snapshots). */
  pending(): Outbound[] {
    if (!PERSIST) return [];
    const all = this.inflightMap ? [...this.inflightMap.values()] : [];
    for (let i = this.queueHead; i < this.queue.length; i++) if (this.queue[i].qos > 0) all.push(this.queue[i]);
    return all;
  }

  /** The in-flight message with `packetId`, if any. */
  inFlight(packetId: number): Outbound | undefined {
    return this.inflightMap?.get(packetId);
  }

  /**
   * Takes back the messages `mine` picks, for someone else to deliver (shared subscriptions):
   * QoS 1 ones in flight once offline, and queued ones unless a journal holds them (it cannot
   * take a message out of the middle of a queue).
   */
  takeBack(mine: (ob: Outbound) => boolean): Outbound[] {
    const back: Outbound[] = [];
    if (!MQTT5) return back;
    if (!this.outlet && this.inflightMap) {
      for (const ob of this.inflightMap.values()) {
        if (ob.qos === 1 && mine(ob)) {
          back.push(ob);
          this.abandon(ob.packetId);
        }
      }
    }
    if (!(PERSIST && this.store) && this.queued) {
      this.queue = this.queue.slice(this.queueHead).filter((ob) => !(mine(ob) && back.push(ob) > 0));
      this.queueHead = 0;
      this.recountQueue();
    }
    return back;
  }

  /** Counts the queue again after it was rewritten as a whole (detach, hand-back, restore). */
  private recountQueue(): void {
    let queued12 = 0;
    let bytes12 = 0;
    let bytes = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const ob = this.queue[i];
      const n = ob.msg.payload.length;
      bytes += n;
      if (ob.qos > 0) {
        queued12++;
        bytes12 += n;
      }
    }
    this.queued12 = queued12;
    this.bytes12 = bytes12;
    this.queuedBytes = bytes;
    if (this.pacedBy && this.hasRoom()) this.flow.freePubs(this);
  }

  /** Clean start: forget everything but the identity. */
  reset(): void {
    this.subs = undefined;
    this.inflightMap = undefined;
    this.qos2 = undefined;
    this.queue = [];
    this.queueHead = 0;
    this.queued12 = this.bytes12 = this.queuedBytes = this.inflightBytes = 0;
    this.flow.freePubs(this);
  }

  windowOpen(): boolean {
    const max = this.limits.inflightByteLimit;
    return (this.inflightMap?.size ?? 0) < this.window && !(max > 0 && this.inflightBytes >= max);
  }

  /** Payload bytes queued and in flight (memory_limit). */
  get heldBytes(): number {
    return this.queuedBytes + this.inflightBytes;
  }

  private sendNew(outlet: Outlet, ob: Outbound): void {
    ob.packetId = this.allocateId();
    this.inflight.set(ob.packetId, ob);
    this.inflightBytes += ob.msg.payload.length;
    if (PERSIST) this.store?.sent(this, ob);
    outlet.sendPublish(ob.msg, ob.qos, ob.packetId, false, ob.retain, ob.x);
  }

  /** Connected and making progress: a full queue pacesNow publishers instead of dropping. */
  get pacesNow(): boolean {
    return this.outlet !== null && this.outlet.online && !this.isStalled;
  }

  /** At or over max_queued_messages or max_queued_bytes with `n` messages of `b` bytes. */
  private isFull(n: number, b: number): boolean {
    const l = this.limits;
    return (l.maxQueued > 0 && n >= l.maxQueued) || (l.maxQueuedBytes > 0 && b >= l.maxQueuedBytes);
  }

  /**
   * Half empty again: paced publishers may go on. Releasing them at the first free place would
   * wake each one for a single message, then pace it again.
   */
  private hasRoom(): boolean {
    const l = this.limits;
    return (l.maxQueued === 0 || this.queued12 * 2 <= l.maxQueued) && (l.maxQueuedBytes === 0 || this.bytes12 * 2 <= l.maxQueuedBytes);
  }

  private markMoved(): void {
    this.movedAt = this.flow.now;
    this.isStalled = false;
  }

  private enqueue(ob: Outbound, unbounded: boolean): void {
    const q12 = ob.qos > 0;
    // A QoS 0 message sent at QoS 1/2 (upgrade_outgoing_qos) has no publisher to pace: drop rule.
    const pacesNow = q12 && ob.msg.qos > 0 && this.pacesNow;
    if (!unbounded && !pacesNow && (q12 ? this.isFull(this.queued12, this.bytes12) : this.isFull(this.queued, this.queuedBytes))) {
      this.flow.dropMsg(this, ob.msg);
      return;
    }
    ownPayload(ob.msg);
    this.queue.push(ob);
    const n = ob.msg.payload.length;
    this.queuedBytes += n;
    if (q12) {
      this.queued12++;
      this.bytes12 += n;
      if (PERSIST) this.store?.stored(this, ob);
      // Past the limits: whoever published this waits until there is room (flow.ts).
      const p = this.flow.currentPub;
      if (pacesNow && p && this.isFull(this.queued12, this.bytes12)) this.flow.holdPub(this, p);
    }
  }

  /** A packet id not in flight (a bridge link also takes its SUBSCRIBE ids from here). */
  allocateId(): number {
    // Ids in use are at most the window size, so this loop ends quickly.
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }
}
