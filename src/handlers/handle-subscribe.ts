// SUBSCRIBE and UNSUBSCRIBE. SUBACK goes out before the retained messages of the new filters.
import { encode } from '../codec/encoder.ts';
import type { QoS, SubscribePacket, UnsubscribePacket } from '../codec/packets.ts';
import type { Session } from '../broker/session.ts';
import { type Connection, writeDurable } from '../transport/connection.ts';
import { log } from '../util/log.ts';

export function handleSubscribe(conn: Connection, session: Session, p: SubscribePacket): void {
  const broker = conn.broker;
  const granted: number[] = [];
  for (const { topic, qos } of p.subscriptions) {
    broker.subscribe(session, topic, qos);
    granted.push(qos);
    if (log.enabled('subscribe')) log.write('subscribe', `${conn.clientId} ${qos} ${topic}`);
  }
  writeDurable(conn, encode({ type: 9, packetId: p.packetId, granted }));
  for (let i = 0; i < p.subscriptions.length; i++) {
    broker.sendRetained(session, p.subscriptions[i].topic, granted[i] as QoS);
  }
}

export function handleUnsubscribe(conn: Connection, session: Session, p: UnsubscribePacket): void {
  for (const topic of p.topics) {
    conn.broker.unsubscribe(session, topic);
    if (log.enabled('unsubscribe')) log.write('unsubscribe', `${conn.clientId} ${topic}`);
  }
  conn.write(encode({ type: 11, packetId: p.packetId }));
}
