// Hooks for authentication and authorisation (the AUTH feature implements them). The core only
// asks; with no Gate on the broker and no Access on a session, nothing is checked.
import type { ListenerConfig } from '../config/types.ts';

/** What one client may do, by topic. Absent on a session = everything allowed. */
export interface Access {
  /** May the client receive a message published on `topic` (delivery, retained messages)? */
  mayRead(topic: string): boolean;
  /** May the client publish on `topic` (PUBLISH, its will)? */
  mayWrite(topic: string): boolean;
  /** May the client subscribe to `filter` (false: SUBACK 0x80)? */
  maySubscribe(filter: string): boolean;
}

export interface Credentials {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** The listener the client came in on, when the transport knows it. */
  listener: ListenerConfig | undefined;
  /**
   * The transport vouched for `username` (TLS use_identity_as_username): no password is checked,
   * as in Mosquitto; the ACL applies to it as to any username.
   */
  verified?: boolean;
}

export type Admission = { ok: true; access: Access | undefined } | { ok: false; code: number; why: string };

/**
 * MQTT 5 enhanced authentication (§4.12), one answer of an exchange: continue (AUTH 0x18),
 * success, or refusal (reason code 0x87/0x8C).
 */
export type AuthStep =
  | { rc: 0x18; data: Buffer }
  /** `username` is the identity that was proven: sessions and the ACL use it. */
  | { rc: 0; data?: Buffer; username: string }
  /** `data` may tell the client why (SCRAM's `e=`); `why` is for the log. */
  | { rc: 0x87 | 0x8c; data?: Buffer; why: string };

/** One client's exchange, fed the client's Authentication Data: CONNECT's, then each AUTH's. */
export interface AuthExchange {
  step(data: Buffer | undefined): AuthStep;
}

/** Decides whether a CONNECT is accepted (CONNACK code 0) and what the client may do. */
export interface Gate {
  admit(c: Credentials): Admission;
  /** MQTT 5 enhanced authentication: a new exchange for `method`, or undefined if not offered. */
  exchange?(method: string, listener: ListenerConfig | undefined): AuthExchange | undefined;
}
