// A small MQTT-SN 1.2 client for tests: sends messages and awaits replies by type. It encodes with
// the codec under test, whose bytes test/sn/codec.test.ts pins to fixtures. SnPeer is the protocol
// side, over any link; SnTestClient is one over UDP on loopback (forwarder.ts has nodes behind a
// forwarder).
import dgram from 'node:dgram';
import {
  CONNACK, CONNECT, decode, DISCONNECT, encode, PINGREQ, PINGRESP, PUBLISH, REGACK, REGISTER, type SnPacket,
  type SnQoS, SUBACK, SUBSCRIBE, WILLMSG, WILLMSGREQ, WILLTOPIC, WILLTOPICREQ,
} from '../../src/features/sn/codec.ts';
import { Inbox } from '../helpers/inbox.ts';

export class SnPeer {
  private readonly box = new Inbox<SnPacket>();
  private nextId = 1;
  /** Datagrams from the gateway that did not decode. */
  readonly undecodable: Buffer[] = [];

  constructor(private readonly write: (datagram: Buffer) => void) {}

  /** A datagram from the gateway. */
  receive(buf: Buffer): void {
    let p: SnPacket;
    try {
      p = decode(buf);
    } catch {
      this.undecodable.push(buf);
      return;
    }
    this.box.add(p);
  }

  /** Messages received and not awaited yet. */
  get inbox(): SnPacket[] {
    return this.box.items;
  }

  msgId(): number {
    return this.nextId++;
  }

  send(p: SnPacket | Buffer): void {
    this.write(Buffer.isBuffer(p) ? p : encode(p));
  }

  /** The next message of `type` (already received, or the next to arrive). */
  next(type: number, timeoutMs = 5000): Promise<SnPacket> {
    return this.box.next((p) => p.type === type, `message of type 0x${type.toString(16)}`, timeoutMs);
  }

  /** Sends and awaits the reply of type `reply`. */
  request(p: SnPacket, reply: number): Promise<SnPacket> {
    const r = this.next(reply);
    this.send(p);
    return r;
  }

  /** Round trip through the gateway: everything it sent before this PINGRESP is in the inbox. */
  async sync(): Promise<void> {
    await this.request({ type: PINGREQ }, PINGRESP);
  }

  async connect(
    clientId: string,
    opts: { clean?: boolean; duration?: number; will?: { topic: string; payload: string; qos?: SnQoS; retain?: boolean } } = {},
  ): Promise<number> {
    const will = opts.will;
    const msg: SnPacket = { type: CONNECT, clean: opts.clean ?? true, will: !!will, protocolId: 1, duration: opts.duration ?? 60, clientId };
    if (!will) return (await this.request(msg, CONNACK)).rc as number;
    await this.request(msg, WILLTOPICREQ);
    await this.request({ type: WILLTOPIC, topic: will.topic, qos: will.qos ?? 0, retain: will.retain ?? false }, WILLMSGREQ);
    return (await this.request({ type: WILLMSG, payload: Buffer.from(will.payload) }, CONNACK)).rc as number;
  }

  async register(topic: string): Promise<SnPacket> {
    return this.request({ type: REGISTER, topicId: 0, msgId: this.msgId(), topic }, REGACK);
  }

  async subscribe(topic: string | number, qos: SnQoS, topicIdType = 0): Promise<SnPacket> {
    const p: SnPacket = { type: SUBSCRIBE, qos, topicIdType, msgId: this.msgId() };
    if (typeof topic === 'number') p.topicId = topic;
    else p.topic = topic;
    return this.request(p, SUBACK);
  }

  publish(topicId: number, payload: string | Buffer, qos: SnQoS, opts: { topicIdType?: number; retain?: boolean; msgId?: number; dup?: boolean } = {}): number {
    const msgId = qos > 0 ? (opts.msgId ?? this.msgId()) : 0;
    this.send({ type: PUBLISH, qos, topicIdType: opts.topicIdType ?? 0, topicId, msgId, retain: opts.retain ?? false, dup: opts.dup ?? false, payload: Buffer.from(payload) });
    return msgId;
  }

  async disconnect(duration?: number): Promise<void> {
    await this.request({ type: DISCONNECT, duration }, DISCONNECT);
  }
}

/** A UDP socket on loopback (ephemeral port) that sends to the gateway's `port`. */
export class LoopbackUdp {
  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static async open(port: number, onMessage: (buf: Buffer) => void): Promise<LoopbackUdp> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    socket.on('message', onMessage);
    return new LoopbackUdp(socket, port);
  }

  send(buf: Buffer): void {
    this.socket.send(buf, this.port, '127.0.0.1');
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}

/** A client on its own UDP socket on loopback. */
export class SnTestClient extends SnPeer {
  private constructor(readonly udp: LoopbackUdp) {
    super((buf) => udp.send(buf));
  }

  static async open(port: number): Promise<SnTestClient> {
    let c: SnTestClient | undefined;
    const udp = await LoopbackUdp.open(port, (buf) => c?.receive(buf));
    return (c = new SnTestClient(udp));
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  close(): void {
    this.udp.close();
  }
}

/** A short topic name's two characters as the TopicId field. */
export function shortId(name: string): number {
  return (name.charCodeAt(0) << 8) | name.charCodeAt(1);
}
