// What a paced MQTT stream holds back (broker/flow.ts): the acknowledgement of the PUBLISH that
// filled a subscriber's queue, and the packets read after it, in order. Client connections and
// bridge links (for what the remote publishes to us) share it.
import type { Packet } from '../codec/packets.ts';

/** Bytes of held PUBLISHes past which the stream is no longer read (TCP backpressure). */
const HOLD_BYTES = 65536;

/**
 * Packets that pass while paced: PUBACK, PUBREC, PUBREL, PUBCOMP, PINGREQ, PINGRESP. They move
 * other flows along and add no messages; holding them could stall two clients that publish to
 * each other. Everything else waits behind the held acknowledgement.
 */
const PASSES = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 12) | (1 << 13);

export const passes = (p: Packet): boolean => ((PASSES >> p.type) & 1) === 1;

export class Held {
  /** QoS 1/2 PUBLISHes held (MQTT 5 Receive Maximum counts them). */
  heldQos = 0;
  private heldBytes = 0;
  readonly heldPackets: Packet[] = [];

  constructor(
    /** The PUBACK/PUBREC held back. */
    readonly heldAck: Buffer,
    /** It is a PUBACK (a QoS 2 message is counted by its PUBREL wait instead). */
    readonly ackQos1: boolean,
  ) {}

  /** Holds `p`; true once so much is held that the stream should no longer be read. */
  addPacket(p: Packet): boolean {
    this.heldPackets.push(p);
    if (p.type === 3) {
      this.heldBytes += p.payload.length + p.topic.length;
      if (p.qos) this.heldQos++;
    }
    return this.heldBytes > HOLD_BYTES;
  }

  get isFull(): boolean {
    return this.heldBytes > HOLD_BYTES;
  }
}

/**
 * Released: writes the held ack and hands the held packets to `handle` in order, until one of
 * them is paced again; the rest then go into the new hold (`current()`). `handle` and `write`
 * belong to the stream; `closed` stops early.
 */
export function replay(h: Held, write: (b: Buffer) => void, handle: (p: Packet) => void, current: () => Held | undefined, closed: () => boolean): void {
  write(h.heldAck);
  const ps = h.heldPackets;
  let i = 0;
  while (i < ps.length && !closed()) {
    handle(ps[i++]);
    const again = current();
    if (again) while (i < ps.length) again.addPacket(ps[i++]);
  }
}
