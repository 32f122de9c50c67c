// MQTT 5 enhanced authentication (§4.12): challenge/response methods, named by the CONNECT's
// Authentication Method. An exchange sees only Authentication Data, never packets or sockets;
// the connect path turns its answers into AUTH, CONNACK and DISCONNECT packets.
import type { Security } from './security.ts';
import { ScramExchange } from './scram.ts';

/** One answer of an exchange: continue (AUTH 0x18), success, or refusal (reason code 0x87/0x8C). */
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

/**
 * The methods by name. Each starts an exchange with a security scope's credentials, or returns
 * undefined when that scope has none for it (the client then gets 0x8C, as for an unknown name).
 */
export const METHODS = new Map<string, (s: Security) => AuthExchange | undefined>([
  ['SCRAM-SHA-256', (s) => s.scram && new ScramExchange(s.scram)],
]);
