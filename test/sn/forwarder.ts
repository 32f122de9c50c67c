// A forwarder for tests (MQTT-SN 1.2 §5.5): it wraps each node's messages in the encapsulation
// header (Length, 0xFE, Ctrl, Wireless Node Id) and unwraps the gateway's replies by node id, over
// any link (a UDP socket here; a serial port in test/serial/). Its own plain messages go through
// `self`. Headers are built by hand, not with the codec under test.
import { LoopbackUdp, SnPeer } from './sn-client.ts';

/** The encapsulation header around `inner`: [3 + id length, 0xFE, ctrl, ...id]. */
export function wrap(id: Buffer, inner: Buffer, ctrl = 0): Buffer {
  return Buffer.concat([Buffer.from([3 + id.length, 0xfe, ctrl]), id, inner]);
}

/** One wireless node behind the forwarder. */
export class SnNode extends SnPeer {
  /** Ctrl bytes of the headers the gateway's datagrams to this node came in, in order. */
  readonly ctrls: number[] = [];

  constructor(
    readonly id: Buffer,
    write: (datagram: Buffer) => void,
    /** Ctrl byte this node's messages carry (bits 1-0: radius). */
    ctrl = 0,
  ) {
    super((inner) => write(wrap(id, inner, ctrl)));
  }
}

export class Forwarder {
  private readonly nodes = new Map<string, SnNode>();
  /** The forwarder's own messages, not encapsulated. */
  readonly self: SnPeer;
  /** Datagrams the test did not expect: for a node id it does not know, or with a broken header. */
  readonly strays: Buffer[] = [];

  constructor(readonly write: (datagram: Buffer) => void) {
    this.self = new SnPeer(write);
  }

  node(id: string | Buffer, ctrl = 0): SnNode {
    const buf = typeof id === 'string' ? Buffer.from(id, 'hex') : id;
    const n = new SnNode(buf, this.write, ctrl);
    this.nodes.set(buf.toString('hex'), n);
    return n;
  }

  /** One datagram from the gateway. */
  receive(buf: Buffer): void {
    if (buf.length < 2 || buf[0] === 0x01 || buf[1] !== 0xfe) return this.self.receive(buf);
    const n = buf[0];
    const node = n >= 4 && n + 2 <= buf.length ? this.nodes.get(buf.toString('hex', 3, n)) : undefined;
    if (!node) return void this.strays.push(buf);
    node.ctrls.push(buf[2]);
    node.receive(buf.subarray(n));
  }
}

/** A forwarder on its own UDP socket on loopback, sending to the gateway's `port`. */
export class UdpForwarder extends Forwarder {
  private constructor(readonly udp: LoopbackUdp) {
    super((buf) => udp.send(buf));
  }

  static async open(port: number): Promise<UdpForwarder> {
    let f: UdpForwarder | undefined;
    const udp = await LoopbackUdp.open(port, (buf) => f?.receive(buf));
    return (f = new UdpForwarder(udp));
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  close(): void {
    this.udp.close();
  }
}
