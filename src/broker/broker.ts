// The protocol-independent core: sessions, the topic tree, retained messages, wills and the
// publish path. MQTT connections, MQTT-SN clients, bridge links, serial links and GPIO call into
// it, and it delivers to them through their Outlets (outlet.ts).
import type { QoS, Will } from '../codec/packets.ts';
import { handBack, isShare, join, leave, type Share } from './shared.ts';
import { log } from '../util/log.ts';
import type { Gate } from './access.ts';
import { Flow, type Paced } from './flow.ts';
import { makeMessage, type Message } from './message.ts';
import type { Outlet } from './outlet.ts';
import { RetainedStore } from './retained.ts';
import { Session, type Limits } from './session.ts';
import { Stats } from './stats.ts';
import type { Store } from './store.ts';
import { TopicTree } from './topic-tree.ts';
import { Lifetimes } from './lifetime.ts';
import { deliver5 } from './sub-options.ts';
import { willMessage } from './message5.ts';
import { retainedExpired } from './expiry.ts';
import { measure } from './memory.ts';

export interface BrokerOptions extends Limits {
  allowAnonymous: boolean;
  retainAvailable: boolean;
  /** Payload bytes; 0 = no limit. */
  messageSizeLimit: number;
  /** Seconds a disconnected persistent session is kept; 0 = forever. */
  persistentClientExpiration: number;
  /** Largest keep-alive a client may ask for, in seconds; 0 = no limit (max_keepalive). */
  maxKeepalive: number;
  /** Largest packet from a client, in bytes; 0 = no limit (max_packet_size; MQTT 5 clients are told). */
  maxPacketSize: number;
  /** Seconds without progress after which a subscriber stops pacing publishers; 0 = never. */
  stallTimeout: number;
  /** Deliver at the subscription's QoS, even above the message's (upgrade_outgoing_qos). */
  upgradeQos: boolean;
  /** AUTH: a retained message is sent only while its publisher may still write its topic. */
  retainCheck: boolean;
  /** Bytes of message data held (memory.ts); 0 = no limit (memory_limit). */
  memLimit: number;
  /** connection_messages: log connects and disconnects. */
  logConnections: boolean;
  /** clientid_prefixes: client ids must start with it; '' = any. */
  clientPrefix: string;
  /** global_max_clients (sessions, connected or not) and global_max_connections; <= 0 = no limit. */
  sessionLimit: number;
  socketLimit: number;
  /** set_tcp_nodelay. */
  tcpNoDelay: boolean;
}

/** Something the broker checks once a second (keep-alive of a connection, for example). */
export interface Ticking {
  tick(now: number): void;
}

export class Broker {
  readonly stats = new Stats();
  readonly retained = new RetainedStore();
  readonly sessions = new Map<string, Session>();
  readonly tree = new TopicTree<Session | Share>();
  /** MQTT5: shared subscription groups by their whole filter, $share/GROUP/FILTER. */
  declare shares: Map<string, Share>;
  /** Decides CONNECTs when AUTH is configured; undefined = only allow_anonymous applies. */
  gate: Gate | undefined = undefined;
  /**
   * Coarse clock in seconds, advanced by tick(): message expiry, lifetimes, stalls and MQTT-SN
   * timers read it instead of calling Date.now() per message. Keep-alive of MQTT connections and
   * bridges needs milliseconds: they take Date.now() per socket read.
   */
  now = Math.floor(Date.now() / 1000);
  /** Persistence hooks (feature PERSIST); undefined when persistence is off. */
  declare store: Store | undefined;
  /** MQTT5: disconnected sessions with an expiry or a will delay running. */
  declare lifetimes: Lifetimes;
  /** memory_limit: bytes of message data held, as last measured plus what was accepted since (memory.ts). */
  memUsed = 0;
  /** memory_limit reached, until a measure finds the count below it (logged once). */
  memFull = false;
  private readonly ticking = new Set<Ticking>();
  private timer: NodeJS.Timeout | undefined;
  /** Pacing, stalls and drops, shared by every session (persistence passes it to restored ones). */
  readonly flow: Flow;

  constructor(readonly options: BrokerOptions) {
    this.flow = new Flow(this.stats, options.stallTimeout);
    if (PERSIST) this.store = undefined;
    if (MQTT5) {
      this.lifetimes = new Lifetimes(this);
      this.shares = new Map();
      this.flow.onStall = (s) => handBack(s);
    }
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  watch(t: Ticking): void {
    this.ticking.add(t);
  }

  unwatch(t: Ticking): void {
    this.ticking.delete(t);
  }

  tick(): void {
    const now = (this.now = Math.floor(Date.now() / 1000));
    for (const t of this.ticking) t.tick(now);
    this.flow.tick(now);
    if (MQTT5) this.lifetimes.tick(now);
    if (this.options.memLimit > 0) measure(this);
    const ttl = this.options.persistentClientExpiration;
    if (ttl > 0) {
      for (const s of this.sessions.values()) {
        // MQTT 5 sessions have their own expiry interval (as in Mosquitto).
        if (!s.outlet && now - s.disconnectedAt > ttl && !(MQTT5 && s.expiry !== undefined)) {
          log.notice(`Expiring client ${s.clientId} after ${ttl} s disconnected.`);
          this.removeSession(s);
        }
      }
    }
  }

  /**
   * Attach a connection to the session of `clientId`, taking it over from an older connection
   * [MQTT-3.1.4-2]. Returns the session and whether state was kept (CONNACK session present).
   * The caller sends CONNACK, then calls session.resume() so redelivery follows the CONNACK.
   * `ends`: the session ends with the connection (MQTT 5 separates it from Clean Start).
   */
  attach(clientId: string, clean: boolean, will: Will | undefined, outlet: Outlet, ends = clean): { session: Session; present: boolean } {
    let session = this.sessions.get(clientId);
    if (session?.outlet) {
      if (this.options.logConnections) log.notice(`Client ${clientId} already connected, closing old connection.`);
      // A session that goes on (kept, and resumed) sends no will, as in Mosquitto: the client is back.
      if (!clean && !session.clean) session.will = undefined;
      session.outlet.close('session taken over', 0x8e); // [MQTT-3.1.4-3] (MQTT 5)
      // close() detaches synchronously (and publishes the old connection's will); a clean
      // session is gone from the map by now.
      session = this.sessions.get(clientId);
    }
    if (MQTT5 && session) this.lifetimes.attached(session, clean);
    let present = false;
    if (session && clean) {
      this.removeSession(session);
      session = undefined;
    }
    if (session) {
      present = true;
      session.clean = ends;
    } else {
      session = new Session(clientId, ends, (BRIDGE && outlet.limits) || this.options, this.flow);
      this.sessions.set(clientId, session);
      this.stats.clientsTotal++;
      if (PERSIST && !ends && this.store) {
        session.store = this.store;
        this.store.sessionAdded(session);
      }
    }
    session.will = will;
    session.outlet = outlet;
    this.stats.clientsConnected++;
    return { session, present };
  }

  /**
   * The session's connection ended. `sendWill` is false after DISCONNECT [MQTT-3.14.4-3] and on
   * broker shutdown.
   */
  detach(session: Session, sendWill: boolean): void {
    this.stats.clientsConnected--;
    let will = sendWill ? session.will : undefined;
    session.will = undefined;
    session.detach(this.now);
    if (session.clean) this.removeSession(session);
    else if (MQTT5) {
      handBack(session);
      if (session.expiry !== undefined) will = this.lifetimes.detached(session, will, this.now);
    }
    if (will) this.publishWill(session, will);
  }

  publishWill(session: Session, will: Will): void {
    // A will is a publish by its client: it needs write access to its topic.
    if (AUTH && session.access && !session.access.mayWrite(will.topic)) {
      log.notice(`Will of client ${session.clientId} on ${will.topic} not published: denied by ACL.`);
    } else this.publish(MQTT5 && will.properties ? willMessage(will, this.now) : makeMessage(will.topic, will.payload, will.qos, will.retain));
  }

  removeSession(session: Session): void {
    if (PERSIST && session.store) {
      session.store.sessionRemoved(session);
      session.store = undefined;
    }
    for (const filter of session.subscriptions.keys()) {
      if (MQTT5 && isShare(filter)) leave(this, session, filter);
      else this.tree.remove(filter, session);
    }
    session.reset();
    if (this.sessions.get(session.clientId) === session) {
      this.sessions.delete(session.clientId);
      this.stats.clientsTotal--;
    }
  }

  /**
   * The publish path: retained store, then one delivery per matching session. `from`: the
   * publishing session (MQTT 5 No Local). `by`: who to pace if a QoS 1/2 subscriber's queue is
   * full (flow.ts); after the call, by.waitCount > 0 means it must hold its acknowledgement. Returns
   * the number of matching sessions.
   */
  publish(msg: Message, from?: Session, by?: Paced): number {
    if (msg.retain && this.options.retainAvailable) {
      // AUTH, check_retain_source: the publisher's access goes with the retained message.
      this.retained.set(msg, AUTH && this.options.retainCheck ? from?.access : undefined);
      if (PERSIST) this.store?.retained(msg);
    }
    // Saved and restored: a delivery may publish in turn (a GPIO output reports its new level).
    const flow = this.flow;
    const outer = flow.currentPub;
    flow.currentPub = msg.qos ? by : undefined;
    const targets = this.tree.match(msg.topic, from);
    const up = this.options.upgradeQos;
    for (let i = 0; i < targets.length; i++) {
      const s = targets[i];
      if (AUTH && s.access !== undefined && !s.access.mayRead(msg.topic)) continue;
      // No echo to the bridge link a message came in through (loop prevention).
      if (BRIDGE && msg.origin !== undefined && s.outlet === msg.origin) continue;
      // upgrade_outgoing_qos: always the subscription's QoS.
      const q = msg.qos < s.matchQos && !up ? msg.qos : s.matchQos;
      // MQTT5: subscriptions with options add subscription ids and Retain As Published.
      if (MQTT5 && s.m5?.gen === this.tree.gen) deliver5(s as Session, msg, q);
      // Downgrade to the subscription's QoS [MQTT-3.8.4-6]; forwarded messages carry RETAIN 0
      // [MQTT-3.3.1-9].
      else s.deliver(msg, q, false);
    }
    flow.currentPub = outer;
    return targets.length;
  }

  /**
   * Adds or replaces a subscription; `o`: its MQTT 5 options (broker/sub-options.ts).
   * Returns true when the session already had this filter.
   */
  subscribe(session: Session, filter: string, qos: QoS, o: number = qos): boolean {
    session.subscriptions.set(filter, o);
    if (PERSIST) session.store?.subscribed(session, filter, o);
    // A shared subscription lives in its group, not in the tree (broker/shared.ts).
    if (MQTT5 && isShare(filter)) return join(this, session, filter, qos), false;
    return this.tree.add(filter, session, o);
  }

  /** Sends the retained messages matching a new subscription [MQTT-3.3.1-6]; `x` as for deliver. */
  sendRetained(session: Session, filter: string, qos: QoS, x?: Buffer): void {
    // Only a new non-shared subscription gets retained messages [MQTT-3.3.1-9 (5.0)].
    if (MQTT5 && isShare(filter)) return;
    for (const m of this.retained.matching(filter)) {
      if (MQTT5 && m.expiresAt !== undefined && retainedExpired(this, m)) continue;
      if (AUTH && session.access !== undefined && !session.access.mayRead(m.topic)) continue;
      // check_retain_source: its publisher must still be allowed to write the topic (ACL reloaded).
      if (AUTH && m.source !== undefined && !m.source.mayWrite(m.topic)) continue;
      session.deliver(m, m.qos < qos && !this.options.upgradeQos ? m.qos : qos, true, x); // [MQTT-3.3.1-8]
    }
  }

  unsubscribe(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    if (MQTT5 && isShare(filter)) leave(this, session, filter);
    else this.tree.remove(filter, session);
    if (PERSIST) session.store?.unsubscribed(session, filter);
    return true;
  }
}
