// Flow control: an acknowledgement is a promise (docs/flow-control.md).
//
// A PUBACK/PUBREC from Midge means the message is queued for every matching QoS 1/2 subscriber
// that is connected and making progress. Such a subscriber's queue takes a QoS 1/2 message even
// past max_queued_messages / max_queued_bytes; when it is at or over either limit, the publisher
// whose message got it there is paced: the session records the publisher as a waiter, the
// publisher holds its acknowledgement and stops taking new PUBLISHes, and once every session it
// waitCount on has room again (or stalls, or goes offline) it is released. A publisher thus overshoots
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
  /** Sessions this publisher waitCount on; it goes on when this is back to 0. */
  waitCount: number;
  /** Called (outside any publish) once nothing holds it back: send the held ack, read again. */
  releasePaced(): void;
}

export class Flow {
  /** The publisher whose QoS 1/2 message is being delivered (set only during Broker.publish). */
  currentPub: Paced | undefined = undefined;
  /** Sessions with pacedBy: checked for stalls once a second. */
  readonly pacingSessions = new Set<Session>();
  /** Broker seconds, advanced by the broker's tick. */
  now = Math.floor(Date.now() / 1000);
  private readyPubs: Paced[] = [];
  /** MQTT5: a stalled member of a shared subscription hands its queued share to the others. */
  onStall: ((s: Session) => void) | undefined = undefined;

  constructor(
    private readonly stats: Stats,
    /** Seconds without progress after which a subscriber stops pacing (0 = never). */
    readonly stallLimit: number,
  ) {}

  /** A session at its limits took a message from the current publisher. */
  holdPub(s: Session, p: Paced): void {
    const w = (s.pacedBy ??= []);
    if (w.includes(p)) return;
    if (!w.length) {
      this.pacingSessions.add(s);
      s.movedAt = this.now; // the stall clock starts when pacing does, at the latest
    }
    w.push(p);
    if (p.waitCount++ === 0) this.stats.publishersPaced++;
  }

  /** The session has room again (or stopped pacing): its pacedBy may go on. */
  freePubs(s: Session): void {
    const w = s.pacedBy;
    if (!w?.length) return;
    s.pacedBy = undefined;
    this.pacingSessions.delete(s);
    for (const p of w) {
      if (--p.waitCount === 0) {
        // Released on the next turn, never inside the delivery or pump that freed the room.
        if (this.readyPubs.push(p) === 1) setImmediate(this.wake);
      }
    }
  }

  private readonly wake = (): void => {
    const readyPubs = this.readyPubs;
    this.readyPubs = [];
    for (const p of readyPubs) if (p.waitCount === 0) p.releasePaced();
  };

  /** Once a second: a subscriber that holds publishers back without moving stops pacing. */
  tick(now: number): void {
    this.now = now;
    if (this.stallLimit <= 0) return;
    for (const s of this.pacingSessions) {
      // ">": movedAt is the second of the tick before the move, up to a second early; this way a
      // subscriber always gets at least the full limit.
      if (now - s.movedAt > this.stallLimit) {
        s.isStalled = true;
        log.warning(`Client ${s.clientId} stalled (no progress in ${this.stallLimit} s): it paces no publisher until it moves.`);
        this.freePubs(s);
        this.onStall?.(s);
      }
    }
  }

  /** A message that could not be queued for an offline or stalled session: count, log once an episode. */
  dropMsg(s: Session, msg: Message): void {
    this.stats.messagesDropped++;
    s.dropped++;
    if (!s.dropLogged) {
      s.dropLogged = true;
      const why = !s.outlet ? 'offline' : s.isStalled ? 'stalled' : 'QoS 0';
      log.warning(`Outgoing messages are being dropped for client ${s.clientId} (${why}, queue full; topic ${msg.topic}).`);
    }
  }
}
