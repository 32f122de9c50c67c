// Hooks for a persistence layer (feature PERSIST). The core calls them at the few points where
// durable state changes; without persistence `Broker.store` and `Session.store` are undefined and
// each call site costs one property check. Only non-clean sessions get a store.
import type { Message } from './message.ts';
import type { Outbound, Session } from './session.ts';

/** Something acknowledgements can be written to (a Connection). */
export interface AckTarget {
  write(buf: Buffer): void;
}

export interface Store {
  /** A retained message was stored, replaced or (empty payload) deleted. */
  retained(msg: Message): void;
  sessionAdded(s: Session): void;
  sessionRemoved(s: Session): void;
  /** A client connected to a persistent session as `username`: its ACL is restored from it. */
  connected(s: Session, username: string | undefined): void;
  /** `o`: the subscription's options number (the QoS, plus MQTT 5 options: broker/sub-options.ts). */
  subscribed(s: Session, filter: string, o: number): void;
  unsubscribed(s: Session, filter: string): void;
  /** A QoS 1/2 message entered the session (queued, or about to be sent). */
  stored(s: Session, ob: Outbound): void;
  /** The oldest unsent stored message got packet id `ob.packetId` and went out. */
  sent(s: Session, ob: Outbound): void;
  /** PUBREC arrived for an outbound QoS 2 message. */
  released(s: Session, packetId: number): void;
  /** PUBACK/PUBCOMP arrived: the outbound message is done. */
  completed(s: Session, packetId: number): void;
  /** An inbound QoS 2 packet id was passed on (`pending` true) or released by PUBREL (false). */
  inbound(s: Session, packetId: number, pending: boolean): void;
  /**
   * Takes `buf` to write to `to` once everything recorded so far is on disk, keeping the order of
   * deferred writes; false means "write it now" (nothing is waiting, or no sync is promised).
   */
  defer(to: AckTarget, buf: Buffer): boolean;
  /** Broker shutdown: finish writing (a last snapshot) and detach from the broker. */
  close(): Promise<void>;
}
