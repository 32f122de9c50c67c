// What an MQTT 5 client is sent of a message: nothing once its Message Expiry Interval has passed
// [MQTT-3.3.2-5], nor a packet larger than the client's Maximum Packet Size [MQTT-3.1.2-24]. A
// message not sent counts as delivered [MQTT-3.1.2-25]: the session forgets its packet id.
import type { QoS } from '../codec/packets.ts';
import type { Message } from '../broker/message.ts';
import type { Connection } from './connection.ts';
import { log } from '../util/log.ts';
import { rateLimit } from '../util/rate-limit.ts';
import { encodePublish5 } from '../codec/encoder.ts';
import { propsAt } from '../broker/message5.ts';
import { type Aliases, aliasOut, sendTopic } from './topic-alias.ts';

export function outbound5(conn: Connection, msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean, x?: Buffer): Buffer | undefined {
  const now = conn.broker.now;
  // A resend is not dropped: its delivery has begun, and an unacknowledged PUBLISH must be resent
  // [MQTT-4.4.0-1]; it goes with an interval of 0.
  if (msg.expiresAt !== undefined && msg.expiresAt < now && !dup) return skip(conn, qos, packetId);
  const buf = publish5(msg, qos, packetId, dup, retain, now, x, conn.aliases);
  const max = conn.props5?.maximumPacketSize;
  if (max === undefined || buf.length <= max) return buf;
  const s = conn.session!;
  // A topic alias given to this packet was never announced: forget it (it is the newest, so the
  // numbering stays dense), or the next PUBLISH would use an alias the client does not know.
  if (sendTopic !== '') conn.aliases?.out.delete(msg.topic);
  conn.broker.stats.messagesDropped++;
  s.dropped++;
  // Logged the first, then one in 1000 (per connection: the maximum is the client's).
  const due = (conn.logOversize ??= rateLimit());
  if (due()) log.warning(`Client ${conn.name}: dropped message on ${msg.topic} of ${buf.length} bytes (its maximum packet size ${max}).`);
  return skip(conn, qos, packetId);
}

/** Done as if acknowledged: the packet id is free again, and the session goes on with its queue. */
function skip(conn: Connection, qos: QoS, packetId: number): undefined {
  if (qos > 0) conn.session!.abandon(packetId, false);
  return undefined;
}

/**
 * The PUBLISH for an MQTT 5 subscriber. The forwarded properties are encoded once per message
 * (props5), and the QoS 0 form is shared by every MQTT 5 subscriber (enc5), as enc0 is for 3.1.1,
 * unless the subscriber has properties of its own: `x` (subscription ids) or a topic alias from
 * `a`, the connection's aliases. A message that expires carries the seconds left at `now`
 * [MQTT-3.3.2-6], encoded per send.
 */
export function publish5(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean, now: number, x?: Buffer, a?: Aliases): Buffer {
  const expiring = msg.expiresAt !== undefined;
  const props = propsAt(msg, now);
  let topic = msg.topic;
  if (a) {
    x = aliasOut(a, topic, x);
    topic = sendTopic;
  }
  if (qos === 0 && !retain && !x && !expiring) return (msg.enc5 ??= encodePublish5(topic, msg.payload, 0, false, false, 0, props));
  return encodePublish5(topic, msg.payload, qos, retain, dup, packetId, props, x);
}
