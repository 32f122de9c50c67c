import type { Properties, QoS } from '../codec/packets.ts';
import type { Outlet } from './outlet.ts';
import type { Access } from './access.ts';

/**
 * One application message as it travels through the broker. The payload Buffer is shared by every
 * recipient; nothing on the publish path copies it per subscriber.
 */
export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Cached QoS 0, RETAIN 0 encoding, built on first use and shared by every QoS 0 recipient. */
  enc0?: Buffer;
  /** MQTT5: when the Message Expiry Interval ends (broker seconds); set only on such messages. */
  expiresAt?: number;
  /** BRIDGE: the bridge link it came in through, if any; the broker does not send it back there.
   *  Set only on such messages, so the common message keeps its shape. */
  origin?: Outlet;
  /** MQTT5: the properties forwarded with the message (payload format, content type, response
   *  topic, correlation data, user properties, expiry); set only on messages that have some. */
  properties?: Properties;
  /** AUTH, check_retain_source: a retained message's publisher, checked again when it is sent. */
  source?: Access;
  /** MQTT5: `properties` encoded once, and the shared QoS 0 MQTT 5 encoding (as enc0). */
  props5?: Buffer;
  enc5?: Buffer;
}

/**
 * Gives a message that is about to wait in a queue a payload of its own. A received payload is a
 * view of a whole socket read (up to 64 kB); a queue of small messages would otherwise pin one
 * read each, far beyond what max_queued_messages means to allow. Idempotent: the copy is shared by
 * every session that queues the message.
 */
export function ownPayload(msg: Message): void {
  const p = msg.payload;
  if (p.byteOffset === 0 && p.buffer.byteLength === p.length) return;
  const own = Buffer.allocUnsafeSlow(p.length);
  p.copy(own);
  msg.payload = own;
}

export function makeMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean): Message {
  return { topic, payload, qos, retain, enc0: undefined };
}
