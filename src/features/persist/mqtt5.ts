// MQTT 5 state in the persistence records (format version 2, see format.ts): a message's
// properties and its expiry as an absolute time, so that expiry goes on counting across a restart.
import type { Message } from '../../broker/message.ts';
import type { Properties } from '../../codec/packets.ts';
import { decodeProps, encodeProps } from '../mqtt5/properties.ts';
import type { BodyReader, RecordWriter } from './format.ts';

type M5 = Message & { properties?: Properties; expiresAt?: number };

/** Appends the [v5] tail of a MSG or RETAIN record, for messages that have MQTT 5 state. */
export function writeTail(w: RecordWriter, m: Message): void {
  const p = (m as M5).properties;
  const at = (m as M5).expiresAt;
  if (!p && !at) return;
  // Per-connection properties never belong to the message; the expiry goes as an absolute time.
  const { messageExpiryInterval, topicAlias, subscriptionIdentifier, ...rest } = p ?? {};
  void messageExpiryInterval, topicAlias, subscriptionIdentifier;
  w.u32(at ?? 0).bin(encodeProps(rest));
}

/** Reads the [v5] tail into `m`, if the record has one. */
export function readTail(r: BodyReader, m: Message): void {
  if (!r.more) return;
  const at = r.u32();
  const b = r.bin(true);
  if (at) (m as M5).expiresAt = at;
  if (b.length) (m as M5).properties = decodeProps(b, 0, b.length, 3);
}
