// Inbound PUBLISH and PUBREL: the start of the publish path.
import { encodeAck } from '../codec/encoder.ts';
import type { PublishPacket, QoS } from '../codec/packets.ts';
import type { Access } from '../broker/access.ts';
import type { Broker } from '../broker/broker.ts';
import { makeMessage } from '../broker/message.ts';
import { MAX_TOPIC_LEVELS, tooDeep } from '../broker/topic-tree.ts';
import type { Session } from '../broker/session.ts';
import type { Connection } from '../transport/connection.ts';
import { log } from '../util/log.ts';

export function handlePublish(conn: Connection, session: Session, p: PublishPacket): void {
  const broker = conn.broker;
  broker.stats.messagesReceived++;
  const qos = p.qos;
  if (qos === 2 && session.inboundQos2.has(p.packetId)) {
    // A resend (DUP) of a message already passed on: acknowledge again, deliver nothing
    // [MQTT-4.3.3-2], exactly once.
    conn.write(encodeAck(5, p.packetId));
    return;
  }
  ingest(broker, conn, AUTH ? session.access : undefined, p.topic, p.payload, qos, p.retain);
  if (qos === 1) conn.write(encodeAck(4, p.packetId));
  else if (qos === 2) {
    session.inboundQos2.add(p.packetId);
    conn.write(encodeAck(5, p.packetId));
  }
}

/**
 * Passes on a message a client published, whatever its protocol (MQTT here; MQTT-SN gateways use
 * it too): limits, reserved topics and the client's `access` (AUTH) first. A refused message is
 * still acknowledged by the caller so the client moves on. `from.name` names the client in the log
 * (read only when logging).
 */
export function ingest(
  broker: Broker,
  from: { readonly name: string },
  access: Access | undefined,
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
): void {
  const limit = broker.options.messageSizeLimit;
  if (limit > 0 && payload.length > limit) {
    log.warning(`Client ${from.name}: dropped message on ${topic} of ${payload.length} bytes (message_size_limit ${limit}).`);
    return;
  }
  if (tooDeep(topic)) {
    log.warning(`Client ${from.name}: dropped message on a topic of more than ${MAX_TOPIC_LEVELS} levels.`);
    return;
  }
  if (topic.startsWith('$SYS')) {
    log.debug(`Client ${from.name}: dropped publish to reserved topic ${topic}.`);
    return;
  }
  // MQTT 3.1.1 has no way to say "denied": the message is acknowledged and dropped (as Mosquitto).
  if (AUTH && access && !access.mayWrite(topic)) {
    log.debug(`Client ${from.name}: publish to ${topic} denied by ACL.`);
    return;
  }
  if (retain && !broker.options.retainAvailable) {
    log.notice(`Client ${from.name} sent a retained message but retain_available is false; sent without RETAIN.`);
  }
  broker.publish(makeMessage(topic, payload, qos, retain));
}

export function handlePubrel(conn: Connection, session: Session, packetId: number): void {
  session.inboundQos2.delete(packetId);
  conn.write(encodeAck(7, packetId));
}
