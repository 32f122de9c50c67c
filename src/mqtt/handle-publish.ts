// Inbound PUBLISH and PUBREL: the start of the publish path.
import { encodeAck, encodeReason } from '../codec/encoder.ts';
import { type Properties, type PublishPacket, RC_NOT_AUTHORIZED, RC_QUOTA_EXCEEDED } from '../codec/packets.ts';
import { acceptPublish } from '../broker/ingest.ts';
import { makeMessage, type Message } from '../broker/message.ts';
import { forwarded } from '../broker/message5.ts';
import { stamp } from '../broker/expiry.ts';
import { admit } from '../broker/memory.ts';
import { inbound5, RC_NO_MATCHING_SUBSCRIBERS } from './publish-in5.ts';
import type { Session } from '../broker/session.ts';
import { type Connection, writeDurable } from './connection.ts';

export function handlePublish(conn: Connection, session: Session, p: PublishPacket): void {
  const broker = conn.broker;
  broker.stats.messagesReceived++;
  const qos = p.qos;
  const l = conn.listener;
  // max_qos: as Mosquitto, a client that publishes above it is disconnected (MQTT 5: 0x9B QoS not
  // supported; the CONNACK told it the Maximum QoS).
  if (l?.maxQos !== undefined && qos > l.maxQos) return conn.end(`QoS ${qos} above max_qos`, true, 0x9b);
  if (qos === 2 && session.inboundQos2.has(p.packetId)) {
    // A resend (DUP) of a message already passed on: acknowledge again, deliver nothing
    // [MQTT-4.3.3-2], exactly once.
    writeDurable(conn, encodeAck(5, p.packetId));
    return;
  }
  // MQTT 5 (the decoder sets p.properties): topic alias and Receive Maximum, then keep what
  // travels on (checking subscription ids) before any drop. rc: the ack's reason code.
  const v5 = MQTT5 && p.properties !== undefined;
  let rc = 0;
  if (MQTT5 && v5) {
    inbound5(conn, session, p);
    p.properties = forwarded(p.properties, p);
  }
  if (l?.mountPoint) p.topic = l.mountPoint + p.topic;
  // memory_limit: refused before any acknowledgement; the publisher is disconnected (memory.ts).
  if (broker.options.memLimit > 0 && !admit(broker, p.topic.length + p.payload.length)) {
    return conn.end('memory_limit reached', true, RC_QUOTA_EXCEEDED);
  }
  // The connection is passed as the publisher to pace if a subscriber's queue is full: then its
  // acknowledgement waits (broker/flow.ts).
  if (acceptPublish(broker, conn, AUTH ? session.access : undefined, p.topic, p.payload, p.retain)) {
    if (BRIDGE && conn.bridge) broker.publish(fromBridge(p, conn), undefined, conn);
    else if (MQTT5 && v5) {
      const msg = p.properties ? withProps(p, p.properties, broker.now) : makeMessage(p.topic, p.payload, qos, p.retain);
      // 0x10 in a PUBACK only: Mosquitto's PUBREC does not say it (it delivers at PUBREL).
      rc = broker.publish(msg, session, conn) || qos === 2 ? 0 : RC_NO_MATCHING_SUBSCRIBERS;
    } else broker.publish(makeMessage(p.topic, p.payload, qos, p.retain), session, conn);
  } else if (MQTT5 && v5) {
    // MQTT 5 can say why [MQTT-3.4.2-1]: over message_size_limit (0x97 Quota exceeded: Mosquitto
    // sends 0x95, which is no PUBACK/PUBREC reason code), or else a $SYS topic or denied by the
    // ACL (0x87 Not authorized, as Mosquitto).
    const limit = broker.options.messageSizeLimit;
    rc = limit > 0 && p.payload.length > limit ? RC_QUOTA_EXCEEDED : RC_NOT_AUTHORIZED;
  }
  let ack: Buffer;
  if (qos === 1) ack = MQTT5 && v5 ? encodeReason(4, p.packetId, rc) : encodeAck(4, p.packetId);
  else if (qos === 2) {
    // A PUBREC of 0x80 or more ends the exchange: no PUBREL follows.
    if (!(MQTT5 && rc >= 0x80)) {
      session.qos2Received(p.packetId);
    }
    ack = MQTT5 && v5 ? encodeReason(5, p.packetId, rc) : encodeAck(5, p.packetId);
  } else return;
  if (conn.waitCount > 0) conn.paceAck(ack, qos === 1);
  else writeDurable(conn, ack);
}

/** MQTT 5: a message with the properties it carries on. */
function withProps(p: PublishPacket, props: Properties, now: number): Message {
  const msg = makeMessage(p.topic, p.payload, p.qos, p.retain);
  msg.properties = props;
  return stamp(msg, now);
}

/** A message from a bridge: the broker must not send it back to that bridge. */
function fromBridge(p: PublishPacket, conn: Connection): Message {
  const msg = makeMessage(p.topic, p.payload, p.qos, p.retain);
  msg.origin = conn;
  return msg;
}

export function handlePubrel(conn: Connection, session: Session, packetId: number): void {
  session.qos2Released(packetId);
  writeDurable(conn, encodeAck(7, packetId));
}
