// MQTT 5 enhanced authentication (§4.12): challenge/response methods, named by the CONNECT's
// Authentication Method. An exchange sees only Authentication Data, never packets or sockets;
// the connect path turns its answers into AUTH, CONNACK and DISCONNECT packets.
// The method interface (AuthExchange, AuthStep) is the broker's: src/broker/access.ts.
import type { AuthExchange } from '../../broker/access.ts';
import type { Security } from './security.ts';
import { ScramExchange } from './scram.ts';

/**
 * The methods by name. Each starts an exchange with a security scope's credentials, or returns
 * undefined when that scope has none for it (the client then gets 0x8C, as for an unknown name).
 */
export const METHODS = new Map<string, (s: Security) => AuthExchange | undefined>([
  ['SCRAM-SHA-256', (s) => s.scram && new ScramExchange(s.scram)],
]);
