// MQTT 5 session lifetime on the broker's coarse clock. A disconnected session is kept for its
// Session Expiry Interval [MQTT-3.1.2-23] (0xFFFFFFFF: for ever), and its will waits for the Will
// Delay Interval or the end of the session, whichever comes first [MQTT-3.1.2-8]. Only sessions
// with something due wait here, so the broker's tick does not walk every session.
import { ProtocolError, type Will } from '../codec/packets.ts';
import type { Broker } from './broker.ts';
import type { Session } from './session.ts';
import { log } from '../util/log.ts';

interface Due {
  /** Broker seconds when the session ends (Infinity: never). */
  end: number;
  /** A delayed will and when it goes out. */
  will: Will | undefined;
  willAt: number;
}

export class Lifetimes {
  private readonly due = new Map<Session, Due>();

  constructor(private readonly broker: Broker) {}

  /**
   * A v5 session that outlives its connection was detached. Returns the will to publish now;
   * a delayed one waits, with the session's end if that is finite.
   */
  detached(s: Session, will: Will | undefined, now: number): Will | undefined {
    const exp = s.expiry!;
    const end = exp === 0xffffffff ? Infinity : now + exp;
    const delay = will?.properties?.willDelayInterval ?? 0;
    if (delay === 0 && end === Infinity) return will;
    this.due.set(s, { end, will: delay ? will : undefined, willAt: now + delay });
    return delay ? undefined : will;
  }

  /**
   * A connection attaches to `s`: nothing is due any more. A reconnect within the will delay
   * cancels the will [MQTT-3.1.3-9]; Clean Start ends the old session, which sends it (as
   * Mosquitto does).
   */
  attached(s: Session, cleanStart: boolean): void {
    const d = this.due.get(s);
    if (!d) return;
    this.due.delete(s);
    if (cleanStart && d.will) this.broker.publishWill(s, d.will);
  }

  tick(now: number): void {
    for (const [s, d] of this.due) {
      // Strictly after: the coarse clock may lag, and an interval must have passed in full.
      if (d.will && (d.willAt < now || d.end < now)) {
        this.broker.publishWill(s, d.will);
        d.will = undefined;
      }
      if (d.end < now) {
        log.notice(`Client ${s.clientId} expired (session expiry interval).`);
        this.broker.removeSession(s);
      }
      if (d.end < now || (!d.will && d.end === Infinity)) this.due.delete(s);
    }
  }
}

/**
 * DISCONNECT's Session Expiry Interval replaces CONNECT's, except that a session created to end
 * with its connection (0) cannot be prolonged (§3.14.2.2.2: a protocol error, so the DISCONNECT
 * does not count and the will goes out).
 */
export function setExpiry(s: Session, expiry: number | undefined): void {
  if (expiry === undefined) return;
  if (s.expiry === 0 && expiry !== 0) {
    throw new ProtocolError('MQTT5-3.14.2.2.2', 'DISCONNECT sets a session expiry after CONNECT set 0');
  }
  s.expiry = expiry;
  s.clean = expiry === 0;
}
