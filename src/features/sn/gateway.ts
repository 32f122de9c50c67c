// The MQTT-SN gateway core: datagrams in, datagrams out, independent of the link. UDP is one
// transport (udp.ts); the serial feature gives another. Each connected MQTT-SN client is a broker
// session through its own outlet (client.ts), so its messages reach MQTT clients directly.
//
// Bounded state: nothing is stored for a peer until it sends CONNECT, and at most `maxClients`
// peers are known at once; malformed datagrams are dropped with a rate-limited log line.
import type { Broker, Ticking } from '../../broker/broker.ts';
import type { ListenerConfig, SnListenerConfig } from '../../config/types.ts';
import type { Admission } from '../../broker/access.ts';
import { ingest } from '../../broker/ingest.ts';
import { log } from '../../util/log.ts';
import { rateLimit } from '../../util/rate-limit.ts';
import { SnClient, type SnHost } from './client.ts';
import {
  ADVERTISE, CONNACK, CONNECT, decode, DISCONNECT, ENCAPSULATED, frame, GWINFO, maxPublishPayload, PINGREQ, PUBLISH,
  RC_CONGESTION, SEARCHGW, SnError, type SnPacket, TOPIC_PREDEFINED, TOPIC_SHORT,
} from './codec.ts';
import { PredefinedTopics } from './predefined.ts';

/** What the gateway sends through: one datagram link (UDP socket, serial line...). */
export interface DatagramTransport {
  /** Largest datagram the link carries, in bytes. */
  readonly maxDatagram: number;
  /** Sends one datagram to the peer named by `peer` (the key the transport gave receive()). */
  send(peer: string, datagram: Buffer): void;
  /** Sends to every station on the link (ADVERTISE); absent when the link cannot. */
  broadcast?(datagram: Buffer): void;
}

export class Gateway implements Ticking, SnHost {
  /** Clients by peer key: one per source address and port. */
  readonly clients = new Map<string, SnClient>();
  readonly predefined: PredefinedTopics;
  readonly maxPayload: number;
  private nextAdvertise = 0;
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
    readonly listener?: ListenerConfig,
  ) {
    this.predefined = new PredefinedTopics(opts.predefinedTopics);
    this.maxPayload = maxPublishPayload(transport.maxDatagram);
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

  send(peer: string, datagram: Buffer): void {
    this.broker.stats.bytesSent += datagram.length;
    this.transport.send(peer, datagram);
  }

  /** One datagram from `peer`. A bug in handling one datagram must not take the broker down. */
  receive(datagram: Buffer, peer: string): void {
    try {
      this.handle(datagram, peer);
    } catch (err) {
      log.error(`MQTT-SN ${this.name}: internal error handling a datagram from ${peer}: ${(err as Error).stack ?? err}`);
      this.clients.get(peer)?.end('internal error', true);
    }
  }

  private handle(datagram: Buffer, peer: string): void {
    this.broker.stats.bytesReceived += datagram.length;
    if (datagram[1] === ENCAPSULATED) return this.drop(peer, 'forwarder encapsulation (spec 5.5) is not supported');
    let p: SnPacket;
    try {
      p = decode(datagram);
    } catch (err) {
      if (!(err instanceof SnError)) throw err;
      return this.drop(peer, `malformed datagram: ${err.message}`);
    }
    const client = this.clients.get(peer);
    switch (p.type) {
      case SEARCHGW:
        // Unicast answer to the searcher (spec 6.1 allows any GW to answer).
        this.send(peer, frame(GWINFO, [this.opts.gatewayId]));
        return;
      case ADVERTISE:
      case GWINFO:
        return; // another gateway's discovery traffic
      case PUBLISH:
        if (p.qos === -1) return this.publishMinus1(p, client, peer);
        break;
      case CONNECT:
        if (!client) return this.connect(p, peer);
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
      this.send(peer, frame(DISCONNECT, []));
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
  }

  /** ADVERTISE (spec 6.1) on the link's broadcast, and to each known client. */
  advertise(): void {
    const buf = frame(ADVERTISE, [this.opts.gatewayId, this.opts.advertiseInterval >> 8, this.opts.advertiseInterval & 255]);
    if (this.transport.broadcast) {
      this.broker.stats.bytesSent += buf.length;
      this.transport.broadcast(buf);
    }
    for (const peer of this.clients.keys()) this.send(peer, buf);
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

  /** Drop and log; a flood logs one line per 1000 drops. */
  drop(peer: string, why: string): void {
    if (this.logDrop()) log.notice(`MQTT-SN ${this.name}: dropped datagram from ${peer}: ${why}.`);
  }

  private connect(p: SnPacket, peer: string): void {
    if (this.clients.size >= this.maxClients) {
      this.send(peer, frame(CONNACK, [RC_CONGESTION]));
      return this.refused(peer, `client ${p.clientId}: sn_max_clients ${this.maxClients} reached`);
    }
    const c = new SnClient(this, peer);
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
