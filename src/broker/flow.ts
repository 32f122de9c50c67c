// Flow control: an acknowledgement is a promise (docs/flow-control.md).
//
// A PUBACK/PUBREC from Midge means the message is queued for every matching QoS 1/2 subscriber
// that is connected and making progress. Such a subscriber's queue takes a QoS 1/2 message even
// past max_queued_messages / max_queued_bytes; when it is at or over either limit, the publisher
// whose message got it there is paced: the session records the publisher as a waiter, the
// publisher holds its acknowledgement and stops taking new PUBLISHes, and once every session it
// waits on has room again (or stalls, or goes offline) it is released. A publisher thus overshoots
// a queue by at most one message.
//
// Offline sessions, and connected ones that made no progress (no acknowledgement, no socket
// drain) for the stall limit, keep the drop rule: QoS 1/2 messages past the limits are dropped
// and counted, and they pace nobody. QoS 0 never paces: it is dropped when the whole queue is full.
import { log } from '../util/log.ts';
import type { Message } from './message.ts';
import type { Session } from './session.ts';
import type { Stats } from './stats.ts';

/** A publisher that can be held back (an MQTT connection, an MQTT-SN client, a bridge, a serial link). */
export interface Paced {
  /** Sessions this publisher waits on; it goes on when this is back to 0. */
  waits: number;
  /** Called (outside any publish) once nothing holds it back: send the held ack, read again. */
  release(): void;
}

export class Flow {
  /** The publisher whose QoS 1/2 message is being delivered (set only during Broker.publish). */
  current: Paced | undefined = undefined;
  /** Sessions with waiters: checked for stalls once a second. */
  readonly blocked = new Set<Session>();
  /** Broker seconds, advanced by the broker's tick. */
  now = Math.floor(Date.now() / 1000);
  private ready: Paced[] = [];
  /** MQTT5: a stalled member of a shared subscription hands its queued share to the others. */
  onStall: ((s: Session) => void) | undefined = undefined;

  constructor(
    private readonly stats: Stats,
    /** Seconds without progress after which a subscriber stops pacing (0 = never). */
    readonly stallLimit: number,
  ) {}

  /** A session at its limits took a message from the current publisher. */
  hold(s: Session, p: Paced): void {
    const w = (s.waiters ??= []);
    if (w.includes(p)) return;
    if (!w.length) {
      this.blocked.add(s);
      s.movedAt = this.now; // the stall clock starts when pacing does, at the latest
    }
    w.push(p);
    if (p.waits++ === 0) this.stats.publishersPaced++;
  }

  /** The session has room again (or stopped pacing): its waiters may go on. */
  free(s: Session): void {
    const w = s.waiters;
    if (!w?.length) return;
    s.waiters = undefined;
    this.blocked.delete(s);
    for (const p of w) {
      if (--p.waits === 0) {
        // Released on the next turn, never inside the delivery or pump that freed the room.
        if (this.ready.push(p) === 1) setImmediate(this.wake);
      }
    }
  }

  private readonly wake = (): void => {
    const ready = this.ready;
    this.ready = [];
    for (const p of ready) if (p.waits === 0) p.release();
  };

  /** Once a second: a subscriber that holds publishers back without moving stops pacing. */
  tick(now: number): void {
    this.now = now;
    if (this.stallLimit <= 0) return;
    for (const s of this.blocked) {
      // ">": movedAt is the second of the tick before the move, up to a second early; this way a
      // subscriber always gets at least the full limit.
      if (now - s.movedAt > this.stallLimit) {
        s.stalled = true;
        log.warning(`Client ${s.clientId} made no progress for ${this.stallLimit} s: it no longer paces publishers; messages past its queue limits are dropped until it moves again.`);
        this.free(s);
        this.onStall?.(s);
      }
    }
  }

  /** A message that could not be queued for an offline or stalled session: count, log once an episode. */
  drop(s: Session, msg: Message): void {
    this.stats.messagesDropped++;
    s.dropped++;
    if (!s.overflowing) {
      s.overflowing = true;
      const why = !s.outlet ? 'offline' : s.stalled ? 'stalled' : 'QoS 0';
      log.warning(`Outgoing messages are being dropped for client ${s.clientId} (${why}, queue full; topic ${msg.topic}).`);
    }
  }
}
