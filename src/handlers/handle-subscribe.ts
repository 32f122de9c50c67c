// SUBSCRIBE and UNSUBSCRIBE. SUBACK goes out before the retained messages of the new filters.
import { encode, encode5 } from '../codec/encoder.ts';
import {
  type QoS,
  RC_NO_SUBSCRIPTION_EXISTED,
  SUBACK_FAILURE,
  type SubscribePacket,
  type UnsubscribePacket,
} from '../codec/packets.ts';
import type { Session } from '../broker/session.ts';
import { MAX_TOPIC_LEVELS, tooDeep } from '../broker/topic-tree.ts';
import { type Connection, writeDurable } from '../transport/connection.ts';
import { log } from '../util/log.ts';

export function handleSubscribe(conn: Connection, session: Session, p: SubscribePacket): void {
  const broker = conn.broker;
  const granted: number[] = [];
  for (const { topic, qos } of p.subscriptions) {
    if (tooDeep(topic)) {
      log.notice(`Client ${conn.name}: refused subscription to a filter of more than ${MAX_TOPIC_LEVELS} levels.`);
      granted.push(SUBACK_FAILURE);
      continue;
    }
    if (AUTH && session.access && !session.access.maySubscribe(topic)) {
      granted.push(SUBACK_FAILURE);
      log.notice(`Client ${conn.clientId}: subscription to ${topic} denied by ACL.`);
      continue;
    }
    broker.subscribe(session, topic, qos);
    granted.push(qos);
    if (log.enabled('subscribe')) log.write('subscribe', `${conn.clientId} ${qos} ${topic}`);
  }
  // MQTT 5: the same bytes are reason codes (granted QoS or 0x80), after a property length.
  writeDurable(conn, (MQTT5 && conn.protocolLevel === 5 ? encode5 : encode)({ type: 9, packetId: p.packetId, granted }));
  for (let i = 0; i < p.subscriptions.length; i++) {
    if (granted[i] === SUBACK_FAILURE) continue;
    broker.sendRetained(session, p.subscriptions[i].topic, granted[i] as QoS);
  }
}

export function handleUnsubscribe(conn: Connection, session: Session, p: UnsubscribePacket): void {
  // MQTT 5: a reason code per filter, 0x11 where there was no such subscription.
  const reasonCodes: number[] | undefined = MQTT5 && conn.protocolLevel === 5 ? [] : undefined;
  for (const topic of p.topics) {
    if (MQTT5 && reasonCodes) reasonCodes.push(conn.broker.unsubscribe(session, topic) ? 0 : RC_NO_SUBSCRIPTION_EXISTED);
    else conn.broker.unsubscribe(session, topic);
    if (log.enabled('unsubscribe')) log.write('unsubscribe', `${conn.clientId} ${topic}`);
  }
  if (MQTT5 && reasonCodes) conn.write(encode5({ type: 11, packetId: p.packetId, reasonCodes }));
  else conn.write(encode({ type: 11, packetId: p.packetId }));
}
