// Acknowledgements from the client for messages the broker delivered (QoS 1 and 2 outbound).
import { encodeAck } from '../codec/encoder.ts';
import type { Session } from '../broker/session.ts';
import type { Connection } from '../transport/connection.ts';

export function handlePuback(session: Session, packetId: number): void {
  session.complete(packetId, 1);
}

export function handlePubrec(conn: Connection, session: Session, packetId: number): void {
  // An unknown id still gets PUBREL so a client that lost track can finish its flow.
  if (!session.received(packetId)) conn.write(encodeAck(6, packetId));
}

export function handlePubcomp(session: Session, packetId: number): void {
  session.complete(packetId, 2);
}
