// One MQTT client connection over a byte stream (TCP, TLS or WebSocket: each gives a Duplex).
// It decodes packets, hands each to its handler, and is the session's Outlet.
import type { Duplex } from 'node:stream';
import { Decoder } from '../codec/decoder.ts';
import { encodeAck, encodePublish, encodeReason } from '../codec/encoder.ts';
import { type Packet, type Properties, type QoS, ProtocolError } from '../codec/packets.ts';
import { reasonFor } from '../codec/reasons.ts';
import { outbound5 } from './outbound5.ts';
import type { Aliases } from './topic-alias.ts';
import type { Limiter } from '../util/rate-limit.ts';
import type { Broker, Ticking } from '../broker/broker.ts';
import type { Paced } from '../broker/flow.ts';
import type { Message } from '../broker/message.ts';
import type { Outlet } from '../broker/outlet.ts';
import type { Session } from '../broker/session.ts';
import type { ListenerConfig } from '../config/types.ts';
import { handlePacket } from './dispatch.ts';
import { log } from '../util/log.ts';
import { CONNECT_TIMEOUT } from '../util/timeouts.ts';
import { endSocket, writeCorked } from '../transport/socket.ts';
import { Held, passes, replay } from './held.ts';
import { unmount } from './mount.ts';

/**
 * Fairness: bytes one connection may feed the broker in one event-loop turn. Past it, its socket
 * yields until the next turn, so a flooding publisher cannot delay other clients' acknowledgements
 * and deliveries (Node would otherwise hand over up to 32 reads of 64 KiB in a row).
 */
const READ_PER_TURN = 16384;
let turn = 0;
let turnPending = false;
const nextTurn = (): void => {
  turn++;
  turnPending = false;
};
/** A number that changes once per event-loop turn (while anyone asks). */
function currentTurn(): number {
  if (!turnPending) {
    turnPending = true;
    setImmediate(nextTurn);
  }
  return turn;
}
function endYield(c: Connection): void {
  c.yieldTurn = false;
  c.readAgain();
}

// Socket listeners shared by every connection (`this` is the socket), rather than closures per
// connection: with thousands of idle clients, each closure and its context is memory.
const CONN = Symbol('midge.connection');
type Owned = Duplex & { [CONN]: Connection };
function onData(this: Owned, chunk: Buffer): void {
  this[CONN].receive(chunk);
}
function onDrain(this: Owned): void {
  const c = this[CONN];
  c.readAgain(); // paused by receive() while our replies backed up
  c.session?.pump(true);
}
function onError(this: Owned, err: Error): void {
  this[CONN].end('Socket error on client %, disconnecting', true);
}
function onClose(this: Owned): void {
  this[CONN].end('Client % closed its connection', true);
}

export class Connection implements Outlet, Ticking, Paced {
  session: Session | null = null;
  clientId = '';
  protocolLevel = 4;
  /** The client is a bridge (CONNECT level | 0x80): no echo, RETAIN kept as published. */
  declare bridge: boolean; // set at CONNECT in builds with BRIDGE
  keepalive = 0;
  /** MQTT5: the CONNECT properties of an MQTT 5 client (session expiry, receive maximum, ...). */
  declare props5: Properties | undefined;
  /** MQTT5: this connection's topic aliases, if it takes or gives any. */
  declare aliases: Aliases | undefined;
  /** MQTT5: logs messages not sent for the client's Maximum Packet Size (outbound5.ts). */
  declare logOversize: Limiter | undefined;
  /**
   * A username vouched for by the transport (the TLS client certificate's CN with
   * use_identity_as_username); CONNECT then uses it instead of the packet's username.
   */
  identity: string | undefined;
  /**
   * Date.now() at the last read. Not the broker's coarse clock: that lags by up to a second, and
   * keep-alive must not close a client early [MQTT-3.1.2-24].
   */
  private lastRx = Date.now();
  /** CONNECT must be complete within CONNECT_TIMEOUT of this, however the bytes trickle in. */
  private readonly acceptedAt = this.lastRx;
  private closed = false;
  /** An uncork is pending this turn (transport/socket.ts). */
  uncorkPending = false;
  private readonly decoder: Decoder;
  /** Flow control (broker/flow.ts): the sessions whose full queues this publisher waits on. */
  waitCount = 0;
  /** While paced: the acknowledgement held back and the packets read after it. */
  private heldBack: Held | undefined = undefined;
  // Fairness: bytes read in turn `rxTurn`; yieldTurn until the next turn.
  private rxTurn = -1;
  private rxBytes = 0;
  yieldTurn = false;

  constructor(
    readonly broker: Broker,
    readonly socket: Duplex,
    readonly remote: string,
    maxPacketSize: number,
    /** The listener the client came in on (per-listener security settings). */
    readonly listener?: ListenerConfig,
  ) {
    this.decoder = new Decoder(
      (p) => this.onPacket(p),
      (e) => this.violation(e),
      maxPacketSize,
    );
    (socket as Owned)[CONN] = this;
    socket.on('data', onData);
    socket.on('drain', onDrain);
    socket.on('error', onError);
    socket.on('close', onClose);
    broker.watch(this);
  }

  receive(chunk: Buffer): void {
    this.lastRx = Date.now();
    this.broker.stats.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    // A client that sends without reading its replies (acks, PINGRESP) would grow our write
    // buffer without bound: stop reading from it until it has taken what we wrote.
    if (this.socket.writableNeedDrain) this.socket.pause();
    const t = currentTurn();
    if (t !== this.rxTurn) {
      this.rxTurn = t;
      this.rxBytes = 0;
    }
    if ((this.rxBytes += chunk.length) > READ_PER_TURN && !this.yieldTurn) {
      this.yieldTurn = true;
      this.socket.pause();
      setImmediate(endYield, this);
    }
  }

  /** Reads again unless our replies are backed up, paced PUBLISHes pile up, or it yields this turn. */
  readAgain(): void {
    if (!this.socket.writableNeedDrain && !this.heldBack?.isFull && !this.yieldTurn) this.socket.resume();
  }

  // ---- Paced (broker/flow.ts) ----

  /** A subscriber's queue is full: `ack` (a PUBACK if q1) waits, and so does what follows. */
  paceAck(ack: Buffer, q1: boolean): void {
    this.heldBack = new Held(ack, q1);
  }

  private holdPacket(h: Held, p: Packet): void {
    if (h.addPacket(p)) this.socket.pause();
    if (MQTT5 && p.type === 3 && p.qos && this.protocolLevel === 5) {
      // [MQTT-3.3.4-7] QoS 1/2 messages not yet acknowledged, counted as they arrive.
      const max = this.broker.options.maxInflight;
      if (max && h.heldQos + (h.ackQos1 ? 1 : 0) + (this.session?.inboundQos2.size ?? 0) > max) {
        this.violation(new ProtocolError('MQTT-3.3.4-7', `more than Receive Maximum (${max}) QoS 1/2 messages unacknowledged`));
      }
    }
  }

  releasePaced(): void {
    const h = this.heldBack;
    if (this.closed || !h) return;
    this.heldBack = undefined;
    replay(h, (b) => writeDurable(this, b), (p) => this.onPacket(p), () => this.heldBack, () => this.closed);
    if (!this.closed) this.readAgain();
  }

  // ---- Outlet ----

  get writable(): boolean {
    return !this.closed && !this.socket.writableNeedDrain;
  }

  get online(): boolean {
    return !this.closed;
  }

  sendPublish(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean, x?: Buffer): void {
    if (BRIDGE && this.bridge && msg.retain) retain = true;
    const mp = this.listener?.mountPoint;
    if (mp) msg = unmount(mp, msg);
    // QoS 0 forwards share one encoding per message; others differ by packet id.
    let buf: Buffer | undefined;
    if (MQTT5 && this.protocolLevel === 5) {
      // Nothing to send (expired, too large for the client): done as if delivered.
      if (!(buf = outbound5(this, msg, qos, packetId, dup, retain, x))) return;
    } else {
      buf =
        qos === 0 && !retain
          ? (msg.enc0 ??= encodePublish(msg.topic, msg.payload, 0, false, false, 0))
          : encodePublish(msg.topic, msg.payload, qos, retain, dup, packetId);
    }
    this.broker.stats.messagesSent++;
    // A persistent session's QoS 1/2 message goes out only once it is on disk (persistence_sync
    // always), so a crash cannot make a publisher's resend reach the subscriber twice.
    if (PERSIST && qos !== 0 && this.session?.store) writeDurable(this, buf);
    else this.write(buf);
  }

  sendPubrel(packetId: number): void {
    writeDurable(this, encodeAck(6, packetId));
  }

  /** Taken over (the broker's only call): it has logged that, so this connection logs nothing more. */
  close(_reason: string, code?: number): void {
    this.end('', true, code);
  }

  // ---- internals ----

  /** Everything written to the socket in one event-loop turn leaves in one writev. */
  write(buf: Buffer): void {
    if (!this.closed) writeCorked(this, buf, this.broker.stats);
  }

  tick(): void {
    const t = Date.now();
    const ms = t - this.lastRx;
    if (!this.session) {
      if (t - this.acceptedAt > CONNECT_TIMEOUT * 1000) {
        log.notice(`Closing connection from ${this.remote}: no CONNECT within ${CONNECT_TIMEOUT} s.`);
        this.end('', false);
      }
    } else if (this.keepalive > 0 && ms > this.keepalive * 1500) {
      // [MQTT-3.1.2-24] 1.5 times the keep-alive without a packet.
      this.end('Client % has exceeded timeout, disconnecting', true, 0x8d); // MQTT 5: Keep Alive timeout
    }
  }

  private onPacket(p: Packet): void {
    if (this.closed) return;
    if (this.heldBack && !passes(p)) return this.holdPacket(this.heldBack, p);
    try {
      handlePacket(this, p);
    } catch (err) {
      if (err instanceof ProtocolError) this.violation(err);
      else {
        log.error(`Internal error handling packet from ${this.name}: ${(err as Error).stack ?? err}`);
        this.end('Client % disconnected due to an internal error', true);
      }
    }
  }

  get name(): string {
    return this.clientId ? `${this.clientId} (${this.remote})` : this.remote;
  }

  /** A protocol violation: log the rule, close, publish the will [MQTT-4.8.0-1]. */
  violation(e: ProtocolError): void {
    if (this.closed) return;
    if (e.connackCode !== undefined && !this.session) {
      this.write(Buffer.from([0x20, 2, 0, e.connackCode]));
    }
    if (this.broker.options.logConnections) log.notice(`Client ${this.name} disconnected due to protocol error: ${e.message}`);
    // MQTT 5: tell the client why [MQTT-4.13.1-1] (a bad CONNECT is just closed).
    this.end('', true, MQTT5 ? reasonFor(e) : undefined);
  }

  /**
   * Ends the connection once, logging `reason` (a connection message in Mosquitto's words, `%`
   * for the client id) if a session was attached. `sendWill` is false after DISCONNECT and at shutdown. Detaching the
   * session happens synchronously so a takeover sees a free session at once. `code`: an MQTT 5
   * client past CONNACK is first sent a DISCONNECT with this reason code.
   */
  end(reason: string, sendWill: boolean, code?: number): void {
    if (this.closed) return;
    if (MQTT5 && code !== undefined && this.protocolLevel === 5 && this.session) this.write(encodeReason(14, 0, code));
    this.closed = true;
    this.broker.unwatch(this);
    const session = this.session;
    if (session && session.outlet === this) {
      if (reason && this.broker.options.logConnections) log.notice(`${reason.replace('%', this.clientId)}.`);
      this.broker.detach(session, sendWill);
    }
    this.session = null;
    endSocket(this.socket);
  }
}

/**
 * Writes a packet that vouches for stored state (PUBACK, PUBREC, PUBCOMP, SUBACK, PUBREL): with
 * persistence_sync always it waits until the state is on disk; such packets keep their order.
 */
export function writeDurable(conn: Connection, buf: Buffer): void {
  if (PERSIST && conn.broker.store?.defer(conn, buf)) return;
  conn.write(buf);
}
