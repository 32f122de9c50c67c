// One bridge: an MQTT client connection to a remote broker, and locally a session like any
// client's, delivering through this link as its Outlet. While the link is down the Outlet is not
// writable, so the session queues (bounded by the bridge's max_queued_messages, drops counted)
// and resends unacknowledged QoS 1/2 messages with DUP once the link is back.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import type { Broker, Ticking } from '../../broker/broker.ts';
import type { Paced } from '../../broker/flow.ts';
import { admit } from '../../broker/memory.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Limits, Session } from '../../broker/session.ts';
import { Decoder } from '../../codec/decoder.ts';
import { DISCONNECT_BYTES, encode, encode5, encodeAck, encodePublish, PINGREQ_BYTES } from '../../codec/encoder.ts';
import type { DisconnectPacket, Packet, QoS, Will } from '../../codec/packets.ts';
import type { BridgeConfig } from '../../config/types.ts';
import { Held, passes, replay } from '../../mqtt/held.ts';
import { endSocket, writeCorked } from '../../transport/socket.ts';
import { log } from '../../util/log.ts';
import { rateLimit } from '../../util/rate-limit.ts';
import { BRIDGE_CONNECT_TIMEOUT } from '../../util/timeouts.ts';
import { caCerts, cipherList, nodeTlsVersion } from '../tls/context.ts';
import { hexKey } from '../tls/psk.ts';
import { nextDelay } from './backoff.ts';
import { connectProps, fromRemote, publish5, refusedBy, subOptions } from './mqtt5.ts';
import { remap } from './topics.ts';

const CONNACK_REASONS = ['', 'unacceptable protocol version', 'client id rejected', 'server unavailable', 'bad user name or password', 'not authorised'];

type State = 'idle' | 'connecting' | 'connected' | 'stopped';

export class BridgeLink implements Outlet, Ticking, Paced {
  readonly remoteId: string;
  readonly localId: string;
  readonly stateTopic: string;
  /** Read by HTTP's status (bridges' state). */
  state: State = 'idle';
  /** The connection to the remote; undefined while down. */
  socket: net.Socket | undefined;
  private ready = false; // CONNACK accepted and SUBACK in: the session may send
  session!: Session;
  private addr = 0;
  private delay = 0; // seconds of the last backoff step; 0 after a success
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0; // ms; lazy bridges do not connect before
  private lastProblem = '';
  private privateRefused = false;
  private subId = 0;
  private startedAt = 0;
  private lastRx = 0;
  private sent = false; // something was written since the last tick
  private lastTx = 0;
  private lastTraffic = 0; // broker seconds; for idle_timeout
  /** An uncork is pending this turn (transport/socket.ts). */
  uncorkPending = false;
  /** Messages too large to send: logged the first, then one in 1000. */
  private readonly logOversize = rateLimit();
  /** MQTT 5: messages the remote refused with a reason code (mqtt5.ts refusedBy). */
  readonly logRefused = rateLimit();
  /** MQTT 5: the remote's Maximum Packet Size (CONNACK); 0 = none. */
  private remoteMax = 0;
  /** Keep-alive in use: keepalive_interval, or the remote's Server Keep Alive (MQTT 5). */
  private keepalive: number;
  /** Flow control (broker/flow.ts): local sessions whose full queues the remote's messages wait on. */
  waitCount = 0;
  /** While paced: the ack to the remote held back, and what the remote sent after it. */
  private heldBack: Held | undefined = undefined;
  private nextProbe = 0; // ms; round_robin false on a secondary address
  /** "1" on the notification topic, sent to the remote through the session after each connect. */
  private readonly notifyUp: Message | undefined;
  private readonly will: Will | undefined;
  private readonly tlsOptions: tls.ConnectionOptions | undefined = undefined;
  /** Every out/both line has equal prefixes: outgoing topics need no remapping. */
  private readonly sameTopics: boolean;
  /** bridge_protocol_version mqttv50. */
  private readonly v5: boolean;
  /** max_inflight_messages, before the remote's Receive Maximum lowers it. */
  private readonly inflight: number;

  constructor(
    private readonly broker: Broker,
    readonly cfg: BridgeConfig,
    private readonly maxPacket: number,
    readonly limits: Limits,
  ) {
    this.remoteId = cfg.remoteClientId ?? `${hostname()}.${cfg.name}`;
    this.localId = cfg.localClientId ?? `local.${this.remoteId}`;
    this.stateTopic = cfg.notificationTopic ?? `$SYS/broker/connection/${this.remoteId}/state`;
    if (cfg.notifications && !cfg.notificationsLocalOnly) {
      this.notifyUp = makeMessage(this.stateTopic, Buffer.from('1'), 1, true);
      this.will = { topic: this.stateTopic, payload: Buffer.from('0'), qos: 1, retain: true };
    }
    this.v5 = MQTT5 && cfg.protocolLevel === 5;
    this.inflight = limits.maxInflight;
    this.keepalive = cfg.keepalive;
    this.sameTopics = cfg.topics.every((t) => t.direction === 'in' || t.localPrefix === t.remotePrefix);
    // As Mosquitto: TLS with bridge_cafile, bridge_capath or a pre-shared key; without any of
    // them the other TLS options have no effect (said once at start).
    const psk = cfg.psk !== undefined ? hexKey(cfg.psk) : undefined;
    if (cfg.cafile || cfg.capath || psk) {
      // Read now: a missing file stops start-up instead of failing every reconnect.
      this.tlsOptions = {
        minVersion: cfg.tlsVersion ? nodeTlsVersion(cfg.tlsVersion) : undefined,
        ALPNProtocols: cfg.alpn ? [cfg.alpn] : undefined,
      };
      if (psk) {
        this.tlsOptions.ciphers = cipherList({}, true);
        this.tlsOptions.pskCallback = () => ({ psk, identity: cfg.pskIdentity as string });
      } else {
        Object.assign(this.tlsOptions, {
          ca: caCerts(cfg.cafile, cfg.capath),
          cert: cfg.certfile ? readFileSync(cfg.certfile) : undefined,
          key: cfg.keyfile ? readFileSync(cfg.keyfile) : undefined,
          // bridge_insecure skips the host name check only; the chain is still verified.
          checkServerIdentity: cfg.insecure ? () => undefined : tls.checkServerIdentity,
        });
      }
    } else if (cfg.certfile || cfg.insecure || cfg.tlsVersion || cfg.alpn) {
      this.say('warning', 'bridge_certfile, bridge_insecure, bridge_tls_version and bridge_alpn have no effect without bridge_cafile, bridge_capath or bridge_psk: connecting without TLS.');
    }
  }

  private get where(): string {
    const a = this.cfg.addresses[this.addr];
    return `${a.host}:${a.port}`;
  }

  start(): void {
    const { session } = this.broker.attach(this.localId, false, undefined, this);
    this.session = session;
    for (const t of this.cfg.topics) {
      if (t.direction === 'in') continue;
      const filter = t.localPrefix + t.pattern;
      this.broker.subscribe(session, filter, t.qos);
      this.broker.sendRetained(session, filter, t.qos);
    }
    this.notifyLocal('0');
    this.broker.watch(this);
    if (this.cfg.startType !== 'lazy') this.connect();
  }

  stop(): void {
    if (this.state === 'stopped') return;
    const sock = this.socket;
    if (sock && this.state === 'connected') this.hangUp();
    this.state = 'stopped';
    this.ready = false;
    this.socket = undefined;
    clearTimeout(this.retryTimer);
    this.broker.unwatch(this);
    if (sock) endSocket(sock);
  }

  // ---- Outlet (the local session delivers through these) ----

  get writable(): boolean {
    return this.ready && !this.socket!.writableNeedDrain;
  }

  /** Down, the bridge's queue keeps its limit and counts drops; up, a slow remote paces publishers. */
  get online(): boolean {
    return this.ready;
  }

  sendPublish(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean): void {
    let topic = msg.topic;
    let keep = true;
    if (msg !== this.notifyUp) {
      if (!this.sameTopics) topic = remap(this.cfg.topics, topic, false) ?? topic;
      // Retained flag as published (Mosquitto's bridges do the same), unless switched off.
      keep = this.cfg.outgoingRetain && (retain || msg.retain);
    }
    const buf =
      MQTT5 && this.v5
        ? publish5(msg, topic, qos, keep, dup, packetId, this.broker.now)
        : qos === 0 && !keep && topic === msg.topic
          ? (msg.enc0 ??= encodePublish(topic, msg.payload, 0, false, false, 0))
          : encodePublish(topic, msg.payload, qos, keep, dup, packetId);
    const max = this.cfg.maxPacketSize;
    // MQTT 5: no buffer for a message whose expiry has passed.
    if (!buf || (max > 0 && buf.length > max) || (MQTT5 && this.remoteMax > 0 && buf.length > this.remoteMax)) {
      if (buf) {
        this.broker.stats.messagesDropped++;
        if (this.logOversize()) {
          this.say('warning', `dropped message on ${msg.topic} of ${buf.length} bytes (${max > 0 && buf.length > max ? `bridge_max_packet_size ${max}` : `the remote's maximum ${this.remoteMax}`}).`);
        }
      }
      // Free its place in the in-flight window, later: abandon() pumps, and we are inside a pump.
      if (qos > 0) queueMicrotask(() => this.session.abandon(packetId));
      return;
    }
    this.broker.stats.messagesSent++;
    this.lastTraffic = this.broker.now;
    this.write(buf);
  }

  sendPubrel(packetId: number): void {
    this.write(encodeAck(6, packetId));
  }


  /** The local client id was taken over by a client: the bridge cannot go on. */
  close(reason: string): void {
    this.say('warning', `local session ${this.localId} ${reason}; bridge stopped.`);
    this.stop();
    this.broker.detach(this.session, false);
  }

  // ---- timers ----

  tick(): void {
    const ms = Date.now();
    if (this.sent) {
      this.sent = false;
      this.lastTx = ms;
    }
    const sock = this.socket;
    const ka = this.keepalive;
    if (this.state === 'connecting' && sock && ms - this.startedAt > BRIDGE_CONNECT_TIMEOUT * 1000) {
      this.lost(sock, `no answer within ${BRIDGE_CONNECT_TIMEOUT} s`);
    } else if (this.state === 'connected' && sock) {
      if (ka > 0 && ms - this.lastRx > ka * 1500) {
        // A half-open link: nothing, not even PINGRESP, for 1.5 keep-alive intervals.
        this.lost(sock, `no packet from the remote for ${ka * 1.5} s (keep-alive)`);
      } else if (ka > 0 && ms - this.lastTx >= ka * 1000) {
        this.write(PINGREQ_BYTES);
      } else if (!this.cfg.roundRobin && this.addr !== 0 && ms >= this.nextProbe) {
        this.probePrimary(sock);
      } else if (this.cfg.startType === 'lazy' && this.broker.now - this.lastTraffic >= this.cfg.idleTimeout) {
        this.say('notice', `idle for ${this.cfg.idleTimeout} s, disconnecting (start_type lazy).`);
        this.hangUp();
        this.down(sock);
        sock.end();
      }
    } else if (this.state === 'idle' && this.cfg.startType === 'lazy' && ms >= this.retryAt && this.session.queued >= this.cfg.threshold) {
      this.connect();
    }
  }

  /**
   * round_robin false: while on a secondary address, check every restart_timeout (base) seconds
   * whether the first one accepts TCP connections again, and move back to it if so.
   */
  private probePrimary(sock: net.Socket): void {
    const a = this.cfg.addresses[0];
    this.nextProbe = Infinity; // one probe at a time
    const probe = net.connect({ host: a.host, port: a.port, localAddress: this.cfg.bindAddress });
    const timer = setTimeout(() => probe.destroy(), BRIDGE_CONNECT_TIMEOUT * 1000).unref();
    probe.once('connect', () => {
      probe.destroy();
      if (sock !== this.socket || this.state !== 'connected') return;
      this.say('notice', `${a.host}:${a.port} is reachable again; moving back to it.`);
      this.hangUp();
      this.down(sock);
      sock.end();
      this.addr = 0;
      this.connect();
    });
    probe.once('close', () => {
      clearTimeout(timer);
      this.nextProbe = Date.now() + this.cfg.restartBase * 1000;
    });
    probe.on('error', () => undefined);
  }

  // ---- the remote connection ----

  private connect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const a = this.cfg.addresses[this.addr];
    this.state = 'connecting';
    this.startedAt = this.lastRx = this.lastTx = Date.now();
    this.say('debug', `connecting to ${a.host}:${a.port}.`);
    const opts = { host: a.host, port: a.port, localAddress: this.cfg.bindAddress };
    const sock = this.tlsOptions
      ? tls.connect({ ...this.tlsOptions, ...opts, servername: net.isIP(a.host) ? undefined : a.host })
      : net.connect(opts);
    this.socket = sock;
    sock.setNoDelay(true);
    const decoder = new Decoder(
      (p) => this.onPacket(sock, p),
      (e) => this.lost(sock, `protocol error from the remote: ${e.message}`),
      this.maxPacket,
    );
    if (MQTT5) decoder.v5 = this.v5;
    sock.once(this.tlsOptions ? 'secureConnect' : 'connect', () => this.sendConnect());
    sock.on('data', (chunk: Buffer) => {
      this.lastRx = Date.now();
      this.broker.stats.bytesReceived += chunk.length;
      decoder.push(chunk);
    });
    sock.on('drain', () => this.session.pump(true));
    sock.on('error', (err: NodeJS.ErrnoException) => this.lost(sock, describe(err, a.host)));
    sock.on('close', () => this.lost(sock, 'connection closed by the remote'));
  }

  private sendConnect(): void {
    const c = this.cfg;
    // MQTT 5 bridges prevent loops with No Local instead of the try_private marker.
    const priv = c.tryPrivate && !this.privateRefused && !this.v5 ? 0x80 : 0;
    this.write(
      encode({
        type: 1,
        protocolName: c.protocolLevel === 3 ? 'MQIsdp' : 'MQTT',
        protocolLevel: c.protocolLevel | priv,
        clean: c.cleanSession,
        keepalive: c.keepalive,
        clientId: this.remoteId,
        will: this.will,
        username: c.remoteUsername,
        password: c.remotePassword === undefined ? undefined : Buffer.from(c.remotePassword),
        properties: MQTT5 && this.v5 ? connectProps(c, this.inflight) : undefined,
      }),
    );
  }

  private onPacket(sock: net.Socket, p: Packet): void {
    if (sock !== this.socket) return;
    if (this.state === 'connecting') {
      if (p.type !== 2) return this.lost(sock, `packet type ${p.type} before CONNACK`);
      if (MQTT5 && this.v5 && p.returnCode === 0) {
        // Honour the remote's limits: its window for our QoS 1/2 messages, its packet size and its
        // keep-alive [MQTT-3.2.2-22].
        const pr = p.properties;
        const rm = pr?.receiveMaximum;
        this.limits.maxInflight = rm && (this.inflight === 0 || rm < this.inflight) ? rm : this.inflight;
        this.session.window = this.limits.maxInflight || 65535;
        this.remoteMax = pr?.maximumPacketSize ?? 0;
        this.keepalive = pr?.serverKeepAlive ?? this.cfg.keepalive;
      }
      return this.onConnack(sock, p.returnCode);
    }
    const s = this.session;
    if (this.heldBack && !passes(p)) {
      if (this.heldBack.addPacket(p)) sock.pause();
      return;
    }
    switch (p.type) {
      case 3: {
        this.lastTraffic = this.broker.now;
        this.broker.stats.messagesReceived++;
        // Inbound QoS 2 ids awaiting PUBREL are the local session's (exactly once across reconnects).
        if (p.qos === 2 && s.inboundQos2.has(p.packetId)) return this.write(encodeAck(5, p.packetId));
        // memory_limit: dropped before the ack, with the link; the remote sends it again (memory.ts).
        if (this.broker.options.memLimit > 0 && !admit(this.broker, p.topic.length + p.payload.length)) return this.lost(sock, 'memory_limit reached');
        const topic = remap(this.cfg.topics, p.topic, true);
        if (topic !== undefined) {
          const msg = makeMessage(topic, p.payload, p.qos, p.retain);
          if (MQTT5 && this.v5) fromRemote(msg, p, this.broker.now);
          msg.origin = this; // never sent back out through this link
          this.broker.publish(msg, undefined, this);
        } else {
          this.say('debug', `dropped message on ${p.topic} (no matching 'in' topic).`);
        }
        if (!p.qos) return;
        if (p.qos === 2) s.qos2Received(p.packetId);
        const ack = encodeAck(p.qos === 1 ? 4 : 5, p.packetId);
        // A local subscriber's queue is full: the remote waits for this ack (and is not read on).
        if (this.waitCount > 0) this.heldBack = new Held(ack, p.qos === 1);
        else this.write(ack);
        return;
      }
      case 4:
        if (MQTT5 && this.v5) refusedBy(this, this.broker, s, p.packetId, p.reasonCode);
        s.complete(p.packetId, 1);
        return;
      case 5:
        // MQTT 5: a PUBREC with a failure reason (0x80 or more) ends the flow without PUBREL (§4.3.3).
        if (MQTT5 && this.v5 && refusedBy(this, this.broker, s, p.packetId, p.reasonCode)) return s.abandon(p.packetId);
        if (!s.received(p.packetId)) this.write(encodeAck(6, p.packetId));
        return;
      case 6:
        s.qos2Released(p.packetId);
        this.write(encodeAck(7, p.packetId));
        return;
      case 7: s.complete(p.packetId, 2); return;
      case 9:
        if (p.packetId !== this.subId) return;
        p.granted.forEach((g, i) => {
          if (g >= 0x80) this.say('warning', `the remote refused subscription ${this.remoteFilters()[i]}.`);
        });
        return this.goReady();
      case 11:
      case 13:
        return;
      default:
        return this.lost(
          sock,
          MQTT5 && this.v5 && p.type === 14
            ? `disconnected by the remote (reason 0x${((p as DisconnectPacket).reasonCode ?? 0).toString(16)})`
            : `unexpected packet type ${p.type} from the remote`,
        );
    }
  }

  private onConnack(sock: net.Socket, rc: number): void {
    if (rc !== 0) {
      const priv = this.cfg.tryPrivate && !this.privateRefused;
      if (rc === 1 && priv) {
        // The remote does not know Mosquitto's bridge marker: ask again as a plain client.
        this.say('notice', `${this.where} refused try_private; connecting as a plain client.`);
        this.privateRefused = true;
        this.down(sock);
        sock.destroy();
        this.connect();
        return;
      }
      return this.lost(sock, `connection refused: CONNACK ${rc} (${CONNACK_REASONS[rc] ?? `reason 0x${rc.toString(16)}`})`);
    }
    this.state = 'connected';
    this.nextProbe = Date.now() + this.cfg.restartBase * 1000;
    this.lastProblem = '';
    this.delay = 0;
    this.lastTraffic = this.broker.now;
    // A clean remote session forgot its QoS 2 flows: so do we.
    if (this.cfg.cleanSession) for (const id of [...this.session.inboundQos2]) this.session.qos2Released(id);
    log.notice(`Bridge ${this.cfg.name} connected to ${this.where} as ${this.remoteId}.`);
    this.notifyLocal('1');
    if (this.cfg.attemptUnsubscribe) {
      // Drop what an earlier configuration may have left in a persistent remote session.
      const outOnly = this.cfg.topics.filter((t) => t.direction === 'out').map((t) => t.remotePrefix + t.pattern);
      if (outOnly.length) this.write(this.encode({ type: 10, packetId: this.session.allocateId(), topics: outOnly }));
    }
    const filters = this.remoteFilters();
    if (filters.length === 0) return this.goReady();
    this.subId = this.session.allocateId();
    const subscriptions = this.cfg.topics
      .filter((t) => t.direction !== 'out')
      .map((t) => (MQTT5 && this.v5 ? subOptions(t.remotePrefix + t.pattern, t.qos) : { topic: t.remotePrefix + t.pattern, qos: t.qos }));
    this.write(this.encode({ type: 8, packetId: this.subId, subscriptions }));
  }

  private remoteFilters(): string[] {
    return this.cfg.topics.filter((t) => t.direction !== 'out').map((t) => t.remotePrefix + t.pattern);
  }

  /** Subscribed: resend what is unacknowledged, then the queue, then the "1" notification. */
  private goReady(): void {
    this.subId = 0;
    this.ready = true;
    this.session.resume(this);
    if (this.notifyUp) this.session.deliver(this.notifyUp, 1, true);
  }

  /** No local queue holds the remote back any more: send the held ack, replay, read on. */
  releasePaced(): void {
    const h = this.heldBack;
    const sock = this.socket;
    this.heldBack = undefined;
    if (!h || !sock) return;
    replay(h, (b) => this.write(b), (p) => this.onPacket(sock, p), () => this.heldBack, () => this.socket !== sock);
    if (this.socket === sock && !(this.heldBack as Held | undefined)?.isFull) sock.resume();
  }

  /** Marks the link down (once per socket); the caller closes the socket. */
  private down(sock: net.Socket): boolean {
    if (sock !== this.socket) return false;
    this.socket = undefined;
    this.ready = false;
    // The remote sends again what it did not get an ack for.
    this.heldBack = undefined;
    const was = this.state;
    this.state = 'idle';
    if (was === 'connected') this.notifyLocal('0');
    return was === 'connected';
  }

  /** The connection failed or broke: log once per change, then retry after a backoff delay. */
  private lost(sock: net.Socket, reason: string): void {
    sock.destroy();
    // A socket already given up (stop, idle disconnect, an earlier error) reports nothing more.
    if (sock !== this.socket) return;
    const wasConnected = this.down(sock);
    const n = this.cfg.addresses.length;
    if (wasConnected) {
      this.say('notice', `connection to ${this.where} lost: ${reason}.`);
      this.addr = this.cfg.roundRobin ? (this.addr + 1) % n : 0;
      this.delay = 0;
    } else {
      this.say(reason !== this.lastProblem ? 'warning' : 'debug', `cannot connect to ${this.where}: ${reason}; retrying.`);
      this.lastProblem = reason;
      this.addr = (this.addr + 1) % n;
    }
    if (this.cfg.startType === 'once') {
      this.say('notice', `start_type once, not reconnecting.`);
      return;
    }
    this.delay = nextDelay(this.delay, this.cfg.restartBase, this.cfg.restartCap);
    this.retryAt = Date.now() + this.delay * 1000;
    if (this.cfg.startType === 'automatic') {
      this.retryTimer = setTimeout(() => this.connect(), this.delay * 1000);
      this.retryTimer.unref();
    }
  }

  /** A clean DISCONNECT suppresses the will, so say "0" on the remote first. */
  private hangUp(): void {
    if (this.notifyUp) this.write(this.encode({ type: 3, topic: this.stateTopic, payload: Buffer.from('0'), qos: 0, retain: true, dup: false, packetId: 0 }));
    this.write(DISCONNECT_BYTES);
  }

  /** A log line about this bridge. */
  private say(level: 'debug' | 'notice' | 'warning', text: string): void {
    log[level](`Bridge ${this.cfg.name}: ${text}`);
  }

  /** A packet in the link's protocol version. */
  private encode(p: Packet): Buffer {
    return MQTT5 && this.v5 ? encode5(p) : encode(p);
  }

  private notifyLocal(v: '0' | '1'): void {
    if (this.cfg.notifications) this.broker.publish(makeMessage(this.stateTopic, Buffer.from(v), 1, true));
  }

  /** One writev per event-loop turn, as for MQTT connections. */
  private write(buf: Buffer): void {
    if (!this.socket) return;
    this.sent = true;
    writeCorked(this, buf, this.broker.stats);
  }
}

function describe(err: NodeJS.ErrnoException, host: string): string {
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `DNS lookup of ${host} failed (${err.code})`;
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return `unreachable (${err.code})`;
  return err.message;
}
