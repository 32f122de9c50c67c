// One MQTT-SN client of a gateway: its connect handshake (with will prompts), topic ids, sleep
// state and retries. It is the session's Outlet, translating deliveries into MQTT-SN PUBLISH
// (after a REGISTER when the client does not know the topic yet).
import { ingest } from '../../broker/ingest.ts';
import { wouldPass } from '../../broker/memory.ts';
import type { Paced } from '../../broker/flow.ts';
import type { Message } from '../../broker/message.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Session } from '../../broker/session.ts';
import { topicFilterError, topicNameError } from '../../codec/validate.ts';
import type { QoS, Will } from '../../codec/packets.ts';
import { log } from '../../util/log.ts';
import { SN_CONNECT_TIMEOUT } from '../../util/timeouts.ts';
import {
  CONNACK, CONNECT, DISCONNECT, encodePublish, frame, maxPublishPayload, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC,
  PUBREL, RC_ACCEPTED, RC_CONGESTION, RC_INVALID_TOPIC_ID, RC_NOT_SUPPORTED, REGACK, REGISTER, type SnPacket,
  SUBACK, SUBSCRIBE, TOPIC_NORMAL, TOPIC_PREDEFINED, TOPIC_SHORT, UNSUBACK, UNSUBSCRIBE, WILLMSG, WILLMSGREQ,
  WILLMSGRESP, WILLMSGUPD, WILLTOPIC, WILLTOPICREQ, WILLTOPICRESP, WILLTOPICUPD,
} from './codec.ts';
import type { Admission } from '../../broker/access.ts';
import type { Broker } from '../../broker/broker.ts';
import type { SnListenerConfig } from '../../config/types.ts';
import type { PredefinedTopics } from './predefined.ts';

/** What a client needs of its gateway (gateway.ts implements it; the client does not import it). */
export interface SnHost {
  readonly broker: Broker;
  readonly opts: SnListenerConfig;
  readonly predefined: PredefinedTopics;
  readonly transport: { readonly maxDatagram: number };
  admit(clientId: string): Admission;
  refused(peer: string, why: string): void;
  forget(c: SnClient): void;
  drop(peer: string, why: string): void;
  send(via: string, datagram: Buffer, header?: Buffer): void;
}

type State = 'connecting' | 'active' | 'asleep' | 'awake' | 'closed';

/** A datagram awaiting its acknowledgement, resent every Tretry up to Nretry times. */
interface Unacked {
  buf: Buffer;
  sentAt: number;
  tries: number;
  /** PUBLISH: the QoS, so a refused message can be completed in the session. */
  qos: number;
}

/** A delivery waiting for the REGACK of its topic. */
interface Held {
  msg: Message;
  qos: QoS;
  packetId: number;
  dup: boolean;
  retain: boolean;
}

/** A reply that carries only a MsgId (PUBREC, PUBREL, PUBCOMP, UNSUBACK). */
const ack = (type: number, msgId: number): Buffer => frame(type, [msgId >> 8, msgId & 255]);

/** TopicId, MsgId, ReturnCode: REGACK and PUBACK. */
const idAck = (type: number, topicId: number, msgId: number, rc: number): Buffer =>
  frame(type, [topicId >> 8, topicId & 255, msgId >> 8, msgId & 255, rc]);

/** Key of an unacknowledged datagram: what it awaits, and its MsgId. */
const key = (type: number, msgId: number): number => type * 65536 + msgId;

export class SnClient implements Outlet, Paced {
  state: State = 'connecting';
  clientId = '';
  session: Session | null = null;
  /** Broker clock (s) of the last datagram from the client. */
  lastRx: number;
  private keepalive = 0;
  private sleepFor = 0;
  /** CONNECT in progress: what it asked for while the will is prompted. */
  private pending: { clientId: string; clean: boolean; duration: number; will?: Will; stage: 'topic' | 'msg' | '' } | undefined;
  /** Normal topic ids known to both sides, both ways. */
  private readonly ids = new Map<number, string>();
  private readonly names = new Map<string, number>();
  private nextTopicId = 1;
  private nextMsgId = 1;
  private readonly unacked = new Map<number, Unacked>();
  /** The REGISTER in flight (gateway → client), and the deliveries waiting for it. */
  private registering: { msgId: number; topicId: number; topic: string } | null = null;
  private held: Held[] = [];
  /** Flow control (broker/flow.ts): sessions whose full queues this client waits on. */
  waitCount = 0;
  /** While paced: the PUBACK/PUBREC held back. QoS 1/2 PUBLISHes meanwhile go unanswered (retried). */
  private heldAck: Buffer | undefined = undefined;

  constructor(
    readonly gw: SnHost,
    /** The client's key: the link's peer, and for a node behind a forwarder `/` and its id in hex. */
    readonly peer: string,
    /** Where its datagrams go on the link: the peer, or the forwarder of a node. */
    readonly via = peer,
    /** A node's forwarder encapsulation header (spec 5.5), which wraps every datagram to it. */
    readonly header?: Buffer,
  ) {
    this.lastRx = gw.broker.now;
  }

  get name(): string {
    return this.clientId ? `${this.clientId} (${this.peer})` : this.peer;
  }

  // ---- Outlet ----

  get writable(): boolean {
    return (this.state === 'active' || this.state === 'awake') && this.registering === null;
  }

  /** A sleeping client is offline for flow control: its queue drops past the limits. */
  get online(): boolean {
    return this.state === 'active' || this.state === 'awake';
  }

  sendPublish(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean): void {
    if (this.state === 'closed') return;
    if (this.registering) {
      this.held.push({ msg, qos, packetId, dup, retain });
      return;
    }
    const t = this.topicFor(msg.topic);
    // What one datagram holds for this client: the link's largest, less a forwarder's header.
    const room = this.gw.transport.maxDatagram - (this.header?.length ?? 0);
    if (t < 0 && Buffer.byteLength(msg.topic) + 7 > room) {
      return this.abandon(packetId, qos, `topic ${msg.topic.slice(0, 50)}... is too long to REGISTER in a datagram`);
    }
    if (t < 0) {
      if (this.register(msg.topic)) this.held.push({ msg, qos, packetId, dup, retain });
      else this.abandon(packetId, qos, `no topic id left for ${msg.topic} (${this.gw.opts.maxTopics} per client)`);
      return;
    }
    if (msg.payload.length > maxPublishPayload(room)) {
      return this.abandon(packetId, qos, `message on ${msg.topic} of ${msg.payload.length} bytes does not fit a datagram`);
    }
    const flags = (dup ? 0x80 : 0) | (qos << 5) | (retain ? 0x10 : 0) | (t >> 16);
    const buf = encodePublish(flags, t & 0xffff, packetId, msg.payload);
    this.gw.broker.stats.messagesSent++;
    if (qos > 0) this.track(PUBLISH, packetId, buf, qos);
    else this.send(buf);
  }

  sendPubrel(packetId: number): void {
    this.track(PUBREL, packetId, ack(PUBREL, packetId), 2);
  }

  close(reason: string): void {
    this.end(reason, true);
  }

  // ---- inbound ----

  handle(p: SnPacket): void {
    if (this.state === 'closed') return;
    if (p.type === CONNECT) return this.connect(p);
    const pending = this.pending;
    if (pending) {
      if (p.type === WILLTOPIC && pending.stage === 'topic') {
        if (!p.topic) {
          pending.will = undefined; // the empty WILLTOPIC: no will after all
          return this.finishConnect();
        }
        if (topicNameError(p.topic)) return this.refuse(RC_NOT_SUPPORTED, `invalid will topic ${p.topic}`);
        pending.will = { topic: p.topic, payload: Buffer.alloc(0), qos: (p.qos as QoS) ?? 0, retain: p.retain === true };
        pending.stage = 'msg';
        this.send(frame(WILLMSGREQ, []));
      } else if (p.type === WILLMSG && pending.stage === 'msg' && pending.will) {
        pending.will.payload = Buffer.from(p.payload as Buffer);
        this.finishConnect();
      } else {
        this.gw.drop(this.peer, `message type 0x${p.type.toString(16)} during CONNECT`);
      }
      return;
    }
    const session = this.session;
    if (!session) return;
    switch (p.type) {
      case PUBLISH: return this.onPublish(session, p);
      case PUBACK: return this.onPuback(session, p);
      case PUBREC:
        this.unacked.delete(key(PUBLISH, p.msgId as number));
        // An unknown id still gets PUBREL so the client can finish its flow (as for MQTT).
        if (!session.received(p.msgId as number)) this.send(ack(PUBREL, p.msgId as number));
        return;
      case PUBREL:
        session.qos2Released(p.msgId as number);
        return this.send(ack(PUBCOMP, p.msgId as number));
      case PUBCOMP:
        this.unacked.delete(key(PUBREL, p.msgId as number));
        session.complete(p.msgId as number, 2);
        return this.checkAwake();
      case REGISTER: return this.onRegister(p);
      case REGACK: return this.onRegack(p);
      case SUBSCRIBE: return this.onSubscribe(session, p);
      case UNSUBSCRIBE: return this.onUnsubscribe(session, p);
      case PINGREQ: return this.onPing(session, p);
      case PINGRESP: return;
      case DISCONNECT: return this.onDisconnect(p);
      case WILLTOPICUPD:
        if (!p.topic) session.will = undefined;
        else if (topicNameError(p.topic)) return this.send(frame(WILLTOPICRESP, [RC_NOT_SUPPORTED]));
        else session.will = { topic: p.topic, payload: session.will?.payload ?? Buffer.alloc(0), qos: (p.qos as QoS) ?? 0, retain: p.retain === true };
        return this.send(frame(WILLTOPICRESP, [RC_ACCEPTED]));
      case WILLMSGUPD:
        if (!session.will) return this.send(frame(WILLMSGRESP, [RC_NOT_SUPPORTED]));
        session.will.payload = Buffer.from(p.payload as Buffer);
        return this.send(frame(WILLMSGRESP, [RC_ACCEPTED]));
      default:
        this.gw.drop(this.peer, `unexpected message type 0x${p.type.toString(16)}`);
    }
  }

  tick(now: number): void {
    const idle = now - this.lastRx;
    if (this.state === 'connecting') {
      if (idle > SN_CONNECT_TIMEOUT) this.end('', false);
      return;
    }
    if (this.state === 'asleep') {
      // A sleeper that misses its duration is lost (spec 6.14): its will is published.
      if (idle > Math.ceil(this.sleepFor * 1.5)) this.end(`sleep duration (${this.sleepFor} s) expired`, true);
      return;
    }
    if (this.keepalive > 0 && idle > Math.ceil(this.keepalive * 1.5)) {
      return this.end(`keep-alive timeout (${this.keepalive} s)`, true);
    }
    const { retryInterval, retryCount } = this.gw.opts;
    for (const u of this.unacked.values()) {
      if (now - u.sentAt < retryInterval) continue;
      if (u.tries >= retryCount) return this.end(`no acknowledgement after ${retryCount} retries`, true);
      u.tries++;
      u.sentAt = now;
      this.resend(u);
    }
  }

  /** Ends the client once; `sendWill` is false after DISCONNECT and at shutdown. */
  end(reason: string, sendWill: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.gw.forget(this);
    const session = this.session;
    this.session = null;
    if (session && session.outlet === this) {
      if (reason) log.notice(`Client ${this.name} disconnected: ${reason}.`);
      this.gw.broker.detach(session, sendWill);
    }
    this.unacked.clear();
    this.held = [];
  }

  // ---- connect ----

  private connect(p: SnPacket): void {
    const id = p.clientId as string;
    if (p.protocolId !== 1) return this.refuse(RC_NOT_SUPPORTED, `protocol id ${p.protocolId}`);
    // Spec 5.3.1: 1 to 23 characters.
    if (id.length === 0 || id.length > 23) return this.refuse(RC_NOT_SUPPORTED, `client id of ${id.length} characters`);
    this.pending = { clientId: id, clean: p.clean === true, duration: p.duration as number, stage: '' };
    if (p.will) {
      this.pending.stage = 'topic';
      this.send(frame(WILLTOPICREQ, []));
    } else {
      this.finishConnect();
    }
  }

  private refuse(rc: number, why: string): void {
    this.send(frame(CONNACK, [rc]));
    this.gw.refused(this.peer, why);
    this.pending = undefined;
    if (!this.session) this.end('', false);
  }

  private finishConnect(): void {
    const { clientId, clean, duration, will } = this.pending as NonNullable<typeof this.pending>;
    this.pending = undefined;
    const gw = this.gw;
    const admission = gw.admit(clientId);
    if (!admission.ok) return this.refuse(RC_NOT_SUPPORTED, admission.why);
    // Topic ids are learnt per connection: forget them, the gateway registers again as needed.
    this.ids.clear();
    this.names.clear();
    this.registering = null;
    this.held = [];
    this.unacked.clear();
    let session = this.session;
    if (session && (session.clientId !== clientId || clean)) {
      // The device at this address restarted or changed identity: end the old session quietly.
      gw.broker.detach(session, false);
      session = this.session = null;
    }
    this.clientId = clientId;
    this.keepalive = duration;
    this.state = 'active';
    if (session) {
      // Same client id from the same address, CleanSession 0: the session carries on; without a
      // new will the stored one stays (spec 6.3).
      if (will) session.will = will;
    } else {
      session = this.session = gw.broker.attach(clientId, clean, will, this).session;
    }
    if (AUTH) session.access = admission.access;
    this.send(frame(CONNACK, [RC_ACCEPTED]));
    log.info(`New MQTT-SN client connected from ${this.peer} as ${clientId} (c${clean ? 1 : 0}, k${duration}).`);
    session.resume(this);
  }

  // ---- publish ----

  private onPublish(session: Session, p: SnPacket): void {
    const msgId = p.msgId as number;
    const qos = p.qos as QoS;
    const topic = this.topicName(p.topicIdType as number, p.topicId as number);
    if (topic === undefined) {
      // Spec 6.7: an unknown topic id is answered with PUBACK "rejected: invalid topic ID".
      return this.send(idAck(PUBACK, p.topicId as number, msgId, RC_INVALID_TOPIC_ID));
    }
    const broker = this.gw.broker;
    // Paced: the client waits for the held acknowledgement; what it sends meanwhile (a retry of
    // that message, or another one) is retried by the client, and answered once it is released.
    if (qos > 0 && this.heldAck) return;
    if (qos === 2 && session.inboundQos2.has(msgId)) {
      // A resend of a message already passed on: acknowledge again, deliver once.
      broker.stats.messagesReceived++;
      return this.send(ack(PUBREC, msgId));
    }
    // memory_limit: a QoS 1/2 message is refused before it is acknowledged (ingest counts it).
    if (qos > 0 && broker.options.memLimit > 0 && wouldPass(broker, topic.length + (p.payload as Buffer).length)) {
      return this.send(idAck(PUBACK, p.topicId as number, msgId, RC_CONGESTION));
    }
    ingest(broker, this, AUTH ? session.access : undefined, topic, p.payload as Buffer, qos, p.retain === true, this);
    let reply: Buffer;
    if (qos === 1) reply = idAck(PUBACK, p.topicId as number, msgId, RC_ACCEPTED);
    else if (qos === 2) {
      session.qos2Received(msgId);
      reply = ack(PUBREC, msgId);
    } else return;
    if (this.waitCount > 0) this.heldAck = reply;
    else this.send(reply);
  }

  releasePaced(): void {
    const reply = this.heldAck;
    this.heldAck = undefined;
    if (reply && this.state !== 'closed') this.send(reply);
  }

  private onPuback(session: Session, p: SnPacket): void {
    const k = key(PUBLISH, p.msgId as number);
    const u = this.unacked.get(k);
    this.unacked.delete(k);
    if (p.rc === RC_INVALID_TOPIC_ID) {
      // The client lost this id: forget it so the next message registers the topic again.
      const name = this.ids.get(p.topicId as number);
      if (name !== undefined) {
        this.ids.delete(p.topicId as number);
        this.names.delete(name);
      }
      log.notice(`Client ${this.name} rejected topic id ${p.topicId}; the message is dropped.`);
    }
    // A PUBACK for a QoS 2 message is the client refusing it: done without PUBREL.
    if (u && u.qos === 2) session.abandon(p.msgId as number);
    else session.complete(p.msgId as number, 1);
    this.checkAwake();
  }

  /** A delivery that cannot be made: log, and complete it so the session moves on. */
  private abandon(packetId: number, qos: QoS, why: string): void {
    log.warning(`Client ${this.name}: dropped message: ${why}.`);
    if (qos > 0) this.session?.abandon(packetId);
  }

  // ---- topic ids ----

  /** Topic of an inbound id, by type; undefined when unknown. */
  private topicName(type: number, id: number): string | undefined {
    if (type === TOPIC_NORMAL) return this.ids.get(id);
    if (type === TOPIC_PREDEFINED) return this.gw.predefined.name(this.clientId, id);
    return String.fromCharCode(id >> 8, id & 255); // short name: two characters
  }

  /** How to name `topic` in a PUBLISH to the client: (type << 16) | id, or -1 to register first. */
  private topicFor(topic: string): number {
    const pre = this.gw.predefined.id(this.clientId, topic);
    if (pre !== undefined) return (TOPIC_PREDEFINED << 16) | pre;
    const id = this.names.get(topic);
    if (id !== undefined) return id;
    // Short names are two bytes on the wire: ASCII only, so both sides read them alike.
    if (topic.length === 2 && topic.charCodeAt(0) < 128 && topic.charCodeAt(1) < 128) {
      return (TOPIC_SHORT << 16) | (topic.charCodeAt(0) << 8) | topic.charCodeAt(1);
    }
    return -1;
  }

  /** A normal topic id for `topic`, assigned if new; -1 when the client's table is full. */
  private assign(topic: string): number {
    const known = this.names.get(topic);
    if (known !== undefined) return known;
    if (this.names.size >= this.gw.opts.maxTopics) return -1;
    let id = this.nextTopicId;
    while (this.ids.has(id)) id = id >= 0xfffe ? 1 : id + 1; // 0x0000 and 0xFFFF are reserved
    this.nextTopicId = id >= 0xfffe ? 1 : id + 1;
    this.ids.set(id, topic);
    this.names.set(topic, id);
    return id;
  }

  /** Gateway-initiated REGISTER (spec 6.10) before a delivery on a topic the client lacks. */
  private register(topic: string): boolean {
    const topicId = this.assign(topic);
    if (topicId < 0) return false;
    const msgId = this.nextMsgId;
    this.nextMsgId = msgId === 65535 ? 1 : msgId + 1;
    const buf = frame(REGISTER, Buffer.concat([Buffer.from([topicId >> 8, topicId & 255, msgId >> 8, msgId & 255]), Buffer.from(topic)]));
    this.registering = { msgId, topicId, topic };
    this.track(REGISTER, msgId, buf, 0);
    return true;
  }

  private onRegack(p: SnPacket): void {
    const r = this.registering;
    if (!r || r.msgId !== p.msgId) return;
    this.unacked.delete(key(REGISTER, r.msgId));
    this.registering = null;
    const held = this.held;
    this.held = [];
    if (p.rc !== RC_ACCEPTED) {
      this.ids.delete(r.topicId);
      this.names.delete(r.topic);
    }
    for (let i = 0; i < held.length; i++) {
      const h = held[i];
      if (p.rc !== RC_ACCEPTED && h.msg.topic === r.topic) {
        this.abandon(h.packetId, h.qos, `client refused topic ${r.topic} (REGACK return code ${p.rc})`);
      } else this.sendPublish(h.msg, h.qos, h.packetId, h.dup, h.retain);
    }
    this.session?.pump(true);
    this.checkAwake();
  }

  /** Client-initiated REGISTER (spec 6.5). */
  private onRegister(p: SnPacket): void {
    const topic = p.topic as string;
    let rc = RC_ACCEPTED;
    let id = 0;
    if (topicNameError(topic)) rc = RC_NOT_SUPPORTED;
    else if ((id = this.assign(topic)) < 0) {
      rc = RC_CONGESTION;
      id = 0;
      log.notice(`Client ${this.name}: REGISTER of ${topic} refused: ${this.gw.opts.maxTopics} topic ids per client reached.`);
    }
    this.send(idAck(REGACK, id, p.msgId as number, rc));
  }

  // ---- subscriptions ----

  /** The filter a SUBSCRIBE/UNSUBSCRIBE names, or undefined for an unknown predefined id. */
  private filterOf(p: SnPacket): string | undefined {
    if (p.topicIdType === TOPIC_PREDEFINED) return this.gw.predefined.name(this.clientId, p.topicId as number);
    return p.topic as string;
  }

  private onSubscribe(session: Session, p: SnPacket): void {
    const filter = this.filterOf(p);
    const reply = (topicId: number, rc: number, qos: number): void =>
      this.send(frame(SUBACK, [qos << 5, topicId >> 8, topicId & 255, (p.msgId as number) >> 8, (p.msgId as number) & 255, rc]));
    if (filter === undefined) return reply(0, RC_INVALID_TOPIC_ID, 0);
    if (topicFilterError(filter)) return reply(0, RC_NOT_SUPPORTED, 0);
    if (AUTH && session.access && !session.access.maySubscribe(filter)) {
      log.notice(`Client ${this.name}: subscription to ${filter} denied by ACL.`);
      return reply(0, RC_NOT_SUPPORTED, 0);
    }
    const qos = p.qos as QoS;
    let topicId = 0;
    if (p.topicIdType === TOPIC_PREDEFINED) topicId = p.topicId as number;
    else if (p.topicIdType === TOPIC_NORMAL && !filter.includes('+') && !filter.includes('#')) {
      // A plain name gets its topic id in SUBACK (spec 6.9); wildcards are registered per topic later.
      topicId = this.assign(filter);
      if (topicId < 0) return reply(0, RC_CONGESTION, 0);
    }
    this.gw.broker.subscribe(session, filter, qos);
    if (log.enabled('subscribe')) log.write('subscribe', `${this.clientId} ${qos} ${filter}`);
    reply(topicId, RC_ACCEPTED, qos);
    this.gw.broker.sendRetained(session, filter, qos);
  }

  private onUnsubscribe(session: Session, p: SnPacket): void {
    const filter = this.filterOf(p);
    if (filter !== undefined) {
      this.gw.broker.unsubscribe(session, filter);
      if (log.enabled('unsubscribe')) log.write('unsubscribe', `${this.clientId} ${filter}`);
    }
    this.send(ack(UNSUBACK, p.msgId as number));
  }

  // ---- sleep (spec 6.14) ----

  private onDisconnect(p: SnPacket): void {
    this.send(frame(DISCONNECT, []));
    if (!p.duration) return this.end('', false);
    // Asleep: the outlet is not writable, so the session buffers (up to max_queued_messages).
    this.state = 'asleep';
    this.sleepFor = p.duration;
    log.info(`Client ${this.name} sleeps for ${p.duration} s.`);
  }

  private onPing(session: Session, p: SnPacket): void {
    // A PINGREQ with the client id wakes a sleeper (or repeats a wake-up whose PINGRESP was lost).
    if ((this.state === 'asleep' || this.state === 'awake') && p.clientId !== undefined) {
      if (p.clientId !== this.clientId) return this.gw.drop(this.peer, `PINGREQ for client ${p.clientId}`);
      // Awake: deliver what was buffered, then PINGRESP sends the client back to sleep.
      this.state = 'awake';
      session.resume(this);
      return this.checkAwake();
    }
    this.send(frame(PINGRESP, []));
  }

  /** While awake, once nothing waits any more: PINGRESP, and the client is asleep again. */
  private checkAwake(): void {
    const s = this.session;
    if (this.state !== 'awake' || !s || s.queued > 0 || s.inflightCount > 0 || this.registering) return;
    this.state = 'asleep';
    this.send(frame(PINGRESP, []));
  }

  // ---- output ----

  private send(buf: Buffer): void {
    this.gw.send(this.via, buf, this.header);
  }

  /** Sends a datagram that awaits an acknowledgement (`type` and `msgId` key it), resent until then. */
  private track(type: number, msgId: number, buf: Buffer, qos: number): void {
    this.send(buf);
    this.unacked.set(key(type, msgId), { buf, sentAt: this.gw.broker.now, tries: 0, qos });
  }

  private resend(u: Unacked): void {
    // PUBLISH resends carry DUP (spec 6.13); the copy leaves the buffer given to the link alone.
    const buf = Buffer.from(u.buf);
    const at = buf[0] === 0x01 ? 3 : 1;
    if (buf[at] === PUBLISH) buf[at + 1] |= 0x80;
    this.send(buf);
  }
}
