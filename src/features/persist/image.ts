// The persisted state as records: applying them rebuilds an Image (plain maps), which is then put
// into the broker; dump() writes a running broker's durable state as a snapshot's records.
import type { Access } from '../../broker/access.ts';
import type { Broker } from '../../broker/broker.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import { type Outbound, Session } from '../../broker/session.ts';
import type { QoS } from '../../codec/packets.ts';
import {
  type BodyReader, R_DONE, R_DROP, R_IN, R_INREL, R_MSG, R_REL, R_RETAIN, R_SENT, R_SESSION, R_STORE, R_SUB,
  R_UNSUB, R_USER, R_EXPIRY, type RecordWriter,
} from './format.ts';
import { expiryRecord, readTail, writeTail } from './mqtt5.ts';

interface SessionImage {
  /** filter → options: the QoS, and MQTT 5's No Local, Retain As Published and id (format.ts). */
  subs: Map<string, number>;
  queue: Outbound[];
  inflight: Map<number, Outbound>;
  inbound: Set<number>;
  /** The username of the last connection; undefined = none known or anonymous. */
  user?: string;
  /** MQTT 5 Session Expiry Interval; undefined for a 3.1/3.1.1 session. */
  expiry?: number;
}

function qosOf(v: number): QoS {
  if (v > 2) throw new Error(`QoS ${v}`);
  return v as QoS;
}

export class Image {
  readonly retained = new Map<string, Message>();
  readonly sessions = new Map<string, SessionImage>();
  private readonly messages = new Map<number, Message>();
  /** The largest message id read: new ones must not reuse ids the files still mention. */
  maxId = 0;

  apply(r: BodyReader): void {
    const type = r.type;
    if (type === R_MSG) {
      const id = r.u32();
      if (id > this.maxId) this.maxId = id;
      const qos = qosOf(r.u8());
      const retain = r.u8() === 1;
      const topic = r.str();
      const m = makeMessage(topic, r.bin(), qos, retain);
      if (MQTT5) readTail(r, m);
      this.messages.set(id, m);
      return;
    }
    if (type === R_RETAIN) {
      const topic = r.str();
      const qos = qosOf(r.u8());
      const payload = r.bin(true); // RetainedStore.set copies it
      if (payload.length === 0) this.retained.delete(topic);
      else {
        const m = makeMessage(topic, payload, qos, true);
        if (MQTT5) readTail(r, m);
        this.retained.set(topic, m);
      }
      return;
    }
    const client = r.str();
    if (type === R_SESSION) {
      this.sessions.set(client, { subs: new Map(), queue: [], inflight: new Map(), inbound: new Set() });
      return;
    }
    const s = this.sessions.get(client);
    if (type === R_DROP) {
      this.sessions.delete(client);
      return;
    }
    // Records about state lost with a damaged file (an unknown session, message or packet id) are
    // skipped; an unknown record type is damage.
    if (!s) {
      if (type < R_SUB || type > R_EXPIRY) throw new Error(`unknown record type ${type}`);
      return;
    }
    switch (type) {
      case R_SUB: {
        const filter = r.str();
        const o = r.u8();
        qosOf(o & 3);
        s.subs.set(filter, o + (r.more ? r.u32() * 16 : 0));
        return;
      }
      case R_UNSUB:
        s.subs.delete(r.str());
        return;
      case R_STORE: {
        const msg = this.messages.get(r.u32());
        const qos = qosOf(r.u8());
        const retain = r.u8() === 1;
        if (msg) s.queue.push({ msg, qos, retain, packetId: 0, released: false });
        return;
      }
      case R_SENT: {
        const id = r.u16();
        const ob = s.queue.shift();
        if (ob) s.inflight.set((ob.packetId = id), ob);
        return;
      }
      case R_REL: {
        const ob = s.inflight.get(r.u16());
        if (ob) ob.released = true;
        return;
      }
      case R_DONE:
        s.inflight.delete(r.u16());
        return;
      case R_IN:
        s.inbound.add(r.u16());
        return;
      case R_INREL:
        s.inbound.delete(r.u16());
        return;
      case R_USER:
        s.user = r.u8() === 1 ? r.str() : undefined;
        return;
      case R_EXPIRY:
        s.expiry = r.u32();
        return;
      default:
        throw new Error(`unknown record type ${type}`);
    }
  }

  /**
   * Puts the state into a broker that has none yet; returns how many messages sessions hold.
   * `users` gets each session's username, for the store to write into later snapshots.
   */
  install(broker: Broker, users: Map<string, string | undefined>): number {
    let held = 0;
    for (const m of this.retained.values()) broker.retained.set(m);
    for (const [client, img] of this.sessions) {
      // A disconnected persistent session, as the broker would have kept it.
      const s = new Session(client, false, broker.options, broker.flow);
      s.disconnectedAt = broker.now;
      broker.sessions.set(client, s);
      broker.stats.clientsTotal++;
      if (MQTT5 && img.expiry !== undefined) {
        // Its expiry counts again from the restart (the disconnect time is not stored).
        s.expiry = img.expiry;
        broker.lifetimes.detached(s, undefined, broker.now);
      }
      for (const [filter, o] of img.subs) broker.subscribe(s, filter, (o & 3) as QoS, o);
      s.restore(img.inflight, img.queue, img.inbound);
      users.set(client, img.user);
      if (AUTH && broker.gate) {
        // Until the client connects again, its ACL is the one of the username it last used (no
        // password check: it was checked then); a username the gate no longer admits reads nothing.
        const a = broker.gate.admit({ clientId: client, username: img.user, password: undefined, listener: undefined, verified: true });
        s.access = a.ok ? a.access : NOTHING;
      }
      held += img.inflight.size + img.queue.length;
    }
    return held;
  }
}

/** The RETAIN record of a retained message (set, or deleted by an empty payload). */
export function retainRecord(w: RecordWriter, m: Message): void {
  w.begin(R_RETAIN).str(m.topic).u8(m.qos).bin(m.payload);
  if (MQTT5) writeTail(w, m);
  w.end();
}

/**
 * The SUB record of a subscription with options `o` (MQTT5, broker/sub-options.ts: the QoS,
 * No Local, Retain As Published, and the subscription identifier times 16; a 3.1.1 one: its QoS).
 */
export function subRecord(w: RecordWriter, client: string, filter: string, o: number): void {
  w.begin(R_SUB).str(client).str(filter).u8(o & 15);
  if (o >= 16) w.u32(Math.floor(o / 16));
  w.end();
}

/** The MSG record of a message that sessions refer to by `id`. */
export function msgRecord(w: RecordWriter, id: number, m: Message): void {
  w.begin(R_MSG).u32(id).u8(m.qos).u8(m.retain ? 1 : 0).str(m.topic).bin(m.payload);
  if (MQTT5) writeTail(w, m);
  w.end();
}

const NOTHING: Access = { mayRead: () => false, mayWrite: () => false, maySubscribe: () => false };


/**
 * A message added to a client's queue: its MSG record first if `ids` has no id for it yet (it gets
 * `next`), then STORE. Returns the next free message id.
 */
export function writeStored(w: RecordWriter, client: string, ob: Outbound, ids: WeakMap<Message, number>, next: number): number {
  const m = ob.msg;
  let id = ids.get(m);
  if (id === undefined) {
    ids.set(m, (id = next++));
    msgRecord(w, id, m);
  }
  w.begin(R_STORE).str(client).u32(id).u8(ob.qos).u8(ob.retain ? 1 : 0).end();
  return next;
}

/**
 * Writes the broker's durable state as records: retained messages (not $SYS ones, which the
 * broker makes again) and every persistent session. `ids` gets the id of each message written.
 */
export function dump(broker: Broker, w: RecordWriter, ids: WeakMap<Message, number>, users: Map<string, string | undefined>): number {
  let next = 1;
  // '#' does not match topics starting with '$' [MQTT-4.7.2-1]: $SYS is left out.
  for (const m of broker.retained.matching('#')) {
    retainRecord(w, m);
  }
  for (const s of broker.sessions.values()) {
    if (s.clean) continue;
    const c = s.clientId;
    w.begin(R_SESSION).str(c).end();
    const user = users.get(c);
    if (user !== undefined) w.begin(R_USER).str(c).u8(1).str(user).end();
    if (MQTT5) expiryRecord(w, s);
    for (const [filter, o] of s.subscriptions) subRecord(w, c, filter, o);
    for (const ob of s.pending()) {
      next = writeStored(w, c, ob, ids, next);
      if (ob.packetId) {
        w.begin(R_SENT).str(c).u16(ob.packetId).end();
        if (ob.released) w.begin(R_REL).str(c).u16(ob.packetId).end();
      }
    }
    for (const id of s.inboundQos2) w.begin(R_IN).str(c).u16(id).end();
  }
  return next;
}
