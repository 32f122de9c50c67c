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
  q = 0;
  private bytes = 0;
  readonly packets: Packet[] = [];

  constructor(
    /** The PUBACK/PUBREC held back. */
    readonly ack: Buffer,
    /** It is a PUBACK (a QoS 2 message is counted by its PUBREL wait instead). */
    readonly q1: boolean,
  ) {}

  /** Holds `p`; true once so much is held that the stream should no longer be read. */
  add(p: Packet): boolean {
    this.packets.push(p);
    if (p.type === 3) {
      this.bytes += p.payload.length + p.topic.length;
      if (p.qos) this.q++;
    }
    return this.bytes > HOLD_BYTES;
  }

  get full(): boolean {
    return this.bytes > HOLD_BYTES;
  }
}

/**
 * Released: writes the held ack and hands the held packets to `handle` in order, until one of
 * them is paced again; the rest then go into the new hold (`current()`). `handle` and `write`
 * belong to the stream; `closed` stops early.
 */
export function replay(h: Held, write: (b: Buffer) => void, handle: (p: Packet) => void, current: () => Held | undefined, closed: () => boolean): void {
  write(h.ack);
  const ps = h.packets;
  let i = 0;
  while (i < ps.length && !closed()) {
    handle(ps[i++]);
    const again = current();
    if (again) while (i < ps.length) again.add(ps[i++]);
  }
}
