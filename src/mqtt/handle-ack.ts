// Acknowledgements from the client for messages the broker delivered (QoS 1 and 2 outbound).
import { encodeAck } from '../codec/encoder.ts';
import type { Session } from '../broker/session.ts';
import type { Connection } from './connection.ts';

export function handlePuback(session: Session, packetId: number): void {
  session.complete(packetId, 1);
}

/** `rc`: MQTT 5 reason code; 0x80 or more ends the exchange without PUBREL (§4.3.3, 5.0). */
export function handlePubrec(conn: Connection, session: Session, packetId: number, rc = 0): void {
  if (MQTT5 && rc >= 0x80) session.abandon(packetId);
  // An unknown id still gets PUBREL so a client that lost track can finish its flow.
  else if (!session.received(packetId)) conn.write(encodeAck(6, packetId));
}

export function handlePubcomp(session: Session, packetId: number): void {
  session.complete(packetId, 2);
}
