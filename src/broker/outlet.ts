import type { QoS } from '../codec/packets.ts';
import type { Message } from './message.ts';
import type { Limits } from './session.ts';

/**
 * What a session delivers through. An MQTT connection is one; an MQTT-SN client, a bridge link or
 * a GPIO output are others. The broker core never needs to know which protocol is on the far side.
 */
export interface Outlet {
  /** False while the transport is backed up: the session queues instead of writing. */
  readonly writable: boolean;
  /**
   * Connected and able to make progress: a full queue then paces publishers (flow.ts). False
   * (a bridge link that is down, an MQTT-SN client asleep) counts as offline: drops past the limits.
   */
  readonly online: boolean;
  /** BRIDGE: the outlet's own queue and window limits (a bridge's max_queued_messages). */
  readonly limits?: Limits;
  /** MQTT5: `x` are the subscriber's own PUBLISH properties (Session.deliver). */
  sendPublish(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean, x?: Buffer): void;
  sendPubrel(packetId: number): void;
  /**
   * Close the transport (takeover, shutdown). `reason` goes to the log; `code` is the MQTT 5
   * reason code of the server's DISCONNECT, for outlets that can send one.
   */
  close(reason: string, code?: number): void;
}
