// Inbound PUBLISH and PUBREL: the start of the publish path.
import { encodeAck } from '../codec/encoder.ts';
import type { PublishPacket } from '../codec/packets.ts';
import { makeMessage, type Message } from '../broker/message.ts';
import { MAX_TOPIC_LEVELS, tooDeep } from '../broker/topic-tree.ts';
import type { Session } from '../broker/session.ts';
import { type Connection, writeDurable } from '../transport/connection.ts';
import { log } from '../util/log.ts';

export function handlePublish(conn: Connection, session: Session, p: PublishPacket): void {
  const broker = conn.broker;
  broker.stats.messagesReceived++;
  const qos = p.qos;
  if (qos === 2 && session.inboundQos2.has(p.packetId)) {
    // A resend (DUP) of a message already passed on: acknowledge again, deliver nothing
    // [MQTT-4.3.3-2], exactly once.
    writeDurable(conn, encodeAck(5, p.packetId));
    return;
  }
  if (accept(conn, p)) {
    if (p.retain && !broker.options.retainAvailable) {
      log.notice(`Client ${conn.name} sent a retained message but retain_available is false; sent without RETAIN.`);
    }
    if (BRIDGE && conn.bridge) broker.publish(fromBridge(p, conn));
    else broker.publish(makeMessage(p.topic, p.payload, qos, p.retain));
  }
  if (qos === 1) writeDurable(conn, encodeAck(4, p.packetId));
  else if (qos === 2) {
    session.inboundQos2.add(p.packetId);
    if (PERSIST) session.store?.inbound(session, p.packetId, true);
    writeDurable(conn, encodeAck(5, p.packetId));
  }
}

/** A message from a bridge: the broker must not send it back to that bridge. */
function fromBridge(p: PublishPacket, conn: Connection): Message {
  const msg = makeMessage(p.topic, p.payload, p.qos, p.retain);
  msg.origin = conn;
  return msg;
}

/** Limits and reserved topics: a refused message is still acknowledged so the client moves on. */
function accept(conn: Connection, p: PublishPacket): boolean {
  const limit = conn.broker.options.messageSizeLimit;
  if (limit > 0 && p.payload.length > limit) {
    log.warning(`Client ${conn.name}: dropped message on ${p.topic} of ${p.payload.length} bytes (message_size_limit ${limit}).`);
    return false;
  }
  if (tooDeep(p.topic)) {
    log.warning(`Client ${conn.name}: dropped message on a topic of more than ${MAX_TOPIC_LEVELS} levels.`);
    return false;
  }
  // A bridge may publish its connection state ($SYS/broker/connection/ID/state), as in Mosquitto.
  if (p.topic.startsWith('$SYS') && !(BRIDGE && conn.bridge && p.topic.startsWith('$SYS/broker/connection/'))) {
    log.debug(`Client ${conn.name}: dropped publish to reserved topic ${p.topic}.`);
    return false;
  }
  // MQTT 3.1.1 has no way to say "denied": the message is acknowledged and dropped (as Mosquitto).
  if (AUTH && conn.session?.access && !conn.session.access.mayWrite(p.topic)) {
    log.debug(`Client ${conn.name}: publish to ${p.topic} denied by ACL.`);
    return false;
  }
  return true;
}

export function handlePubrel(conn: Connection, session: Session, packetId: number): void {
  if (session.inboundQos2.delete(packetId) && PERSIST) session.store?.inbound(session, packetId, false);
  writeDurable(conn, encodeAck(7, packetId));
}
