// Checks of an MQTT 5 PUBLISH from a client before it enters the publish path: its Topic Alias
// and the server's Receive Maximum.
import { ProtocolError, type PublishPacket } from '../codec/packets.ts';
import type { Session } from '../broker/session.ts';
import type { Connection } from './connection.ts';
import { aliasIn } from './topic-alias.ts';

/** No Matching Subscribers: a PUBACK/PUBREC reason code that is still a success. */
export const RC_NO_MATCHING_SUBSCRIBERS = 0x10;

export function inbound5(conn: Connection, session: Session, p: PublishPacket): void {
  if (p.properties!.topicAlias !== undefined) aliasIn(conn.aliases, p);
  // [MQTT-3.3.4-7] no more unacknowledged QoS 1/2 messages than the Receive Maximum of our
  // CONNACK (max_inflight_messages). QoS 1 ones are acknowledged at once: only QoS 2 ones wait,
  // from PUBREC to PUBREL.
  const max = conn.broker.options.maxInflight;
  if (p.qos === 2 && max && session.inboundQos2.size >= max) {
    throw new ProtocolError('MQTT-3.3.4-7', `more than Receive Maximum (${max}) QoS 2 messages unacknowledged`);
  }
}
