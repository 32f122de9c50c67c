// The MQTT-SN gateway core: datagrams in, datagrams out, independent of the link. UDP is one
// transport (udp.ts); the serial feature gives another. Each connected MQTT-SN client is a broker
// session through its own outlet (client.ts), so its messages reach MQTT clients directly.
//
// Forwarder encapsulation (spec 5.5): a radio coordinator wraps each sensor node's messages in a
// header naming the node (Wireless Node Id). Each (link peer, node id) is a client of its own, keyed
// `PEER/NODEID-IN-HEX`; replies go back wrapped in the same header. Plain and wrapped clients mix.
//
// Bounded state: nothing is stored for a peer until it sends CONNECT, and at most `maxClients`
// peers (nodes behind forwarders included) are known at once; malformed datagrams are dropped
// with a rate-limited log line, and counted ($SYS/broker/mqtt-sn/NAME/..., docs/sys-topics.md).
import type { Broker, Ticking } from '../../broker/broker.ts';
import type { ListenerConfig, SnListenerConfig } from '../../config/types.ts';
import type { Admission } from '../../broker/access.ts';
import { ingest } from '../../broker/ingest.ts';
import { makeMessage } from '../../broker/message.ts';
import { log } from '../../util/log.ts';
import { rateLimit } from '../../util/rate-limit.ts';
import { SnClient, type SnHost } from './client.ts';
import {
  ADVERTISE, CONNACK, CONNECT, decode, DISCONNECT, ENCAPSULATED, frame, GWINFO, PINGREQ, PUBLISH,
  RC_CONGESTION, SEARCHGW, SnError, type SnPacket, TOPIC_PREDEFINED, TOPIC_SHORT,
} from './codec.ts';
import { PredefinedTopics } from './predefined.ts';

/** What the gateway sends through: one datagram link (UDP socket, serial line...). */
export interface DatagramTransport {
  /** Largest datagram the link carries, in bytes. */
  readonly maxDatagram: number;
  /** Sends one datagram to the peer named by `peer` (the key the transport gave receive()). */
  send(peer: string, datagram: Buffer): void;
  /** Sends to every station on the link (ADVERTISE, GWINFO): a multicast group; absent when there is none. */
  broadcast?(datagram: Buffer): void;
}

/** A header's Ctrl byte (spec 5.5): bits 1-0 are the broadcast radius, for the forwarder. */
const RADIUS_MASK = 3;

export class Gateway implements Ticking, SnHost {
  /** Clients by peer key: one per source address and port, and per node behind a forwarder. */
  readonly clients = new Map<string, SnClient>();
  readonly predefined: PredefinedTopics;
  /** Datagrams that came in a forwarder encapsulation, and those dropped for a malformed header. */
  encapsulated = 0;
  malformedHeaders = 0;
  /** Datagrams dropped (malformed, unexpected, refused), malformed headers included. */
  dropped = 0;
  private nextAdvertise = 0;
  private nextSys = 0;
  private readonly logDrop = rateLimit();
  private readonly logRefusal = rateLimit();

  constructor(
    readonly broker: Broker,
    readonly transport: DatagramTransport,
    readonly opts: SnListenerConfig,
    /** Client limit: sn_max_clients, lowered by max_connections when that is set. */
    readonly maxClients: number,
    /** Names the link in log lines, e.g. `udp 0.0.0.0:1884`. */
    readonly name: string,
    /** The listener clients come in on (per-listener security settings), when there is one. */
    readonly listener: ListenerConfig | undefined,
    /** SYS: where the counters go, `$SYS/broker/mqtt-sn/TOPIC/...`, every `sysInterval` s (0: never). */
    readonly sysTopic: string,
    readonly sysInterval: number,
  ) {
    this.predefined = new PredefinedTopics(opts.predefinedTopics);
  }

  start(): void {
    this.broker.watch(this);
    this.tick(this.broker.now);
  }

  /** Ends every client without wills (broker shutdown). */
  close(): void {
    this.broker.unwatch(this);
    for (const c of [...this.clients.values()]) c.end('broker shutting down', false);
  }

  /**
   * Sends to `via` (the link's peer); to a node behind a forwarder (`header`, as the node's
   * datagrams came) wrapped in that header, with Ctrl `ctrl` (a radius for the forwarder to
   * broadcast with; 0 for a message to the node alone).
   */
  send(via: string, datagram: Buffer, header?: Buffer, ctrl = 0): void {
    if (header) {
      datagram = Buffer.concat([header, datagram]);
      datagram[2] = ctrl;
    }
    this.broker.stats.bytesSent += datagram.length;
    this.transport.send(via, datagram);
  }

  /** One datagram from `from`. A bug in handling one datagram must not take the broker down. */
  receive(datagram: Buffer, from: string): void {
    let peer = from;
    try {
      this.broker.stats.bytesReceived += datagram.length;
      let header: Buffer | undefined;
      if (datagram[1] === ENCAPSULATED && datagram[0] !== 0x01) {
        // Spec 5.5: Length (of the header alone), 0xFE, Ctrl, Wireless Node Id, then a whole
        // MQTT-SN message. A node id of at least one byte, and a message of at least two.
        this.encapsulated++;
        const n = datagram[0];
        if (n < 4 || n + 2 > datagram.length || (datagram[n + 1] === ENCAPSULATED && datagram[n] !== 0x01)) {
          this.malformedHeaders++;
          return this.drop(from, 'malformed forwarder encapsulation header');
        }
        peer = `${from}/${datagram.toString('hex', 3, n)}`;
        header = datagram.subarray(0, n);
        datagram = datagram.subarray(n);
      }
      this.handle(datagram, peer, from, header);
    } catch (err) {
      log.error(`MQTT-SN ${this.name}: internal error handling a datagram from ${peer}: ${(err as Error).stack ?? err}`);
      this.clients.get(peer)?.end('internal error', true);
    }
  }

  /** One message from `peer`, which came from `via` on the link (the same, or a forwarder with `header`). */
  private handle(datagram: Buffer, peer: string, via: string, header: Buffer | undefined): void {
    let p: SnPacket;
    try {
      p = decode(datagram);
    } catch (err) {
      if (!(err instanceof SnError)) throw err;
      return this.drop(peer, `malformed datagram: ${err.message}`);
    }
    const client = this.clients.get(peer);
    switch (p.type) {
      case SEARCHGW: {
        // GWINFO goes by broadcast, with the radius of SEARCHGW (spec 5.4.3): from a node, the
        // forwarder broadcasts it; otherwise to the searcher, and to the multicast group if any.
        const info = frame(GWINFO, [this.opts.gatewayId]);
        this.send(via, info, header, Math.min(p.radius as number, RADIUS_MASK));
        if (!header) this.broadcast(info);
        return;
      }
      case ADVERTISE:
      case GWINFO:
        return; // another gateway's discovery traffic
      case PUBLISH:
        if (p.qos === -1) return this.publishMinus1(p, client, peer);
        break;
      case CONNECT:
        if (!client) return this.connect(p, peer, via, header);
        break;
      default:
        break;
    }
    if (client) {
      client.lastRx = this.broker.now;
      client.handle(p);
    } else if (p.type === PINGREQ) {
      // A client the gateway does not know (it restarted, or the client moved port): tell it to
      // connect again.
      this.send(via, frame(DISCONNECT, []), header);
    } else {
      this.drop(peer, `message type 0x${p.type.toString(16)} from a peer that has not connected`);
    }
  }

  tick(now: number): void {
    if (this.opts.advertiseInterval > 0 && now >= this.nextAdvertise) {
      this.nextAdvertise = now + this.opts.advertiseInterval;
      this.advertise();
    }
    for (const c of [...this.clients.values()]) c.tick(now);
    if (SYS && this.sysInterval > 0 && now >= this.nextSys) {
      this.nextSys = now + this.sysInterval;
      this.publishSys();
    }
  }

  /** ADVERTISE (spec 6.1) on the link's broadcast, and to each known client (a node: through its forwarder). */
  advertise(): void {
    const buf = frame(ADVERTISE, [this.opts.gatewayId, this.opts.advertiseInterval >> 8, this.opts.advertiseInterval & 255]);
    this.broadcast(buf);
    for (const c of this.clients.values()) this.send(c.via, buf, c.header);
  }

  private broadcast(buf: Buffer): void {
    if (this.transport.broadcast) {
      this.broker.stats.bytesSent += buf.length;
      this.transport.broadcast(buf);
    }
  }

  /** Its counters by $SYS name (docs/sys-topics.md); HTTP's /metrics reads them too. */
  counters(): [string, number][] {
    let connected = 0;
    let nodes = 0;
    const forwarders = new Set<string>();
    for (const c of this.clients.values()) {
      if (!c.session) continue;
      connected++;
      if (c.header) {
        nodes++;
        forwarders.add(c.via);
      }
    }
    return [
      ['clients', connected],
      ['nodes', nodes],
      ['forwarders', forwarders.size],
      ['encapsulated/received', this.encapsulated],
      ['encapsulated/malformed', this.malformedHeaders],
      ['dropped', this.dropped],
    ];
  }

  /** SYS: the counters, retained. */
  private publishSys(): void {
    for (const [topic, v] of this.counters()) {
      this.broker.publish(makeMessage(`$SYS/broker/mqtt-sn/${this.sysTopic}/${topic}`, Buffer.from(String(v)), 0, true));
    }
  }

  /**
   * MQTT-SN has no credentials: its clients are anonymous, admitted as an MQTT client without a
   * username would be (allow_anonymous, and with AUTH the ACL's rules for anonymous clients).
   */
  admit(clientId: string): Admission {
    if (AUTH && this.broker.gate) {
      return this.broker.gate.admit({ clientId, username: undefined, password: undefined, listener: this.listener });
    }
    if (!this.broker.options.allowAnonymous) return { ok: false, code: 5, why: `anonymous client ${clientId} (allow_anonymous false)` };
    return { ok: true, access: undefined };
  }

  /** Logs a refused CONNECT; at most one line a second, so a flood of them cannot flood the log. */
  refused(peer: string, why: string): void {
    if (this.logRefusal(this.broker.now, 1)) log.notice(`MQTT-SN ${this.name}: refused connection from ${peer}: ${why}.`);
  }

  forget(c: SnClient): void {
    if (this.clients.get(c.peer) === c) this.clients.delete(c.peer);
  }

  /** Drop, count and log; a flood logs one line per 1000 drops. */
  drop(peer: string, why: string): void {
    this.dropped++;
    if (this.logDrop()) log.notice(`MQTT-SN ${this.name}: dropped datagram from ${peer}: ${why}.`);
  }

  private connect(p: SnPacket, peer: string, via: string, header: Buffer | undefined): void {
    if (this.clients.size >= this.maxClients) {
      this.send(via, frame(CONNACK, [RC_CONGESTION]), header);
      return this.refused(peer, `client ${p.clientId}: sn_max_clients ${this.maxClients} reached`);
    }
    // The header is copied: the client keeps it, and the datagram it came in is not kept.
    const c = new SnClient(this, peer, via, header && Buffer.from(header));
    this.clients.set(peer, c);
    c.handle(p);
  }

  /** QoS -1 (spec 6.8): a connectionless publish to a predefined id or short name, sent at QoS 0. */
  private publishMinus1(p: SnPacket, client: SnClient | undefined, peer: string): void {
    const id = p.topicId as number;
    const topic =
      p.topicIdType === TOPIC_PREDEFINED
        ? this.predefined.name(client?.clientId ?? '', id)
        : p.topicIdType === TOPIC_SHORT
          ? String.fromCharCode(id >> 8, id & 255)
          : undefined;
    if (topic === undefined) return this.drop(peer, `QoS -1 PUBLISH to unknown or normal topic id ${id}`);
    const a = client?.session ? { ok: true as const, access: client.session.access } : this.admit('');
    if (!a.ok) return this.drop(peer, `QoS -1 PUBLISH refused: ${a.why}`);
    ingest(this.broker, client ?? { name: peer }, a.access, topic, p.payload as Buffer, 0, p.retain === true);
  }
}
