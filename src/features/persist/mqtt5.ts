// MQTT 5 state in the persistence records (format version 2, see format.ts): a message's
// properties, and its expiry as an absolute time so that expiry goes on counting across a restart;
// a session's expiry interval.
import type { Message } from '../../broker/message.ts';
import type { Session } from '../../broker/session.ts';
import { decodeProps, encodeProps } from '../../codec/properties.ts';
import { type BodyReader, R_EXPIRY, type RecordWriter } from './format.ts';

/** The session's MQTT 5 Session Expiry Interval (Session.expiry); undefined for 3.1/3.1.1. */
export const expiryOf = (s: Session): number | undefined => s.expiry;

/** The EXPIRY record of an MQTT 5 session. */
export function expiryRecord(w: RecordWriter, s: Session): void {
  const e = expiryOf(s);
  if (e !== undefined) w.begin(R_EXPIRY).str(s.clientId).u32(e).end();
}

/** Appends the [v5] tail of a MSG or RETAIN record, for messages that have MQTT 5 state. */
export function writeTail(w: RecordWriter, m: Message): void {
  if (m.properties || m.expiresAt) w.u32(m.expiresAt ?? 0).bin(encodeProps(m.properties));
}

/** Reads the [v5] tail into `m`, if the record has one. */
export function readTail(r: BodyReader, m: Message): void {
  if (!r.more) return;
  const at = r.u32();
  const b = r.bin(true);
  if (at) m.expiresAt = at;
  if (b.length) m.properties = decodeProps(b, 0, b.length, 3);
}
