// Message Expiry Interval on the broker's coarse clock. A message published with one carries when
// it ends (Message.expiresAt, broker seconds); other messages pay nothing. Like the session clock,
// "passed" means strictly after: the clock may lag by a second, and a message must not go early.
import type { Broker } from './broker.ts';
import { makeMessage, type Message } from './message.ts';

/** Sets when `msg` expires, if its properties give an interval. */
export function stamp(msg: Message, now: number): Message {
  const i = msg.properties?.messageExpiryInterval;
  if (i !== undefined) msg.expiresAt = now + i;
  return msg;
}

/** A retained message whose interval has passed is deleted (from disk too) and not sent. */
export function retainedExpired(broker: Broker, m: Message): boolean {
  if (m.expiresAt! >= broker.now) return false;
  const gone = makeMessage(m.topic, Buffer.alloc(0), 0, true);
  broker.retained.set(gone);
  if (PERSIST) broker.store?.retained(gone);
  return true;
}
