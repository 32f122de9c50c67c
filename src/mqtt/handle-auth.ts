// MQTT 5 enhanced authentication on a connection (§4.12): CONNECT with an Authentication Method,
// then AUTH 0x18 both ways until CONNACK; later, re-authentication started by the client's AUTH
// 0x19. The method's exchange (enhanced.ts) sees only the Authentication Data.
import { encodeReason } from '../codec/encoder.ts';
import type { ConnectPacket, Packet, Properties } from '../codec/packets.ts';
import { handleConnect } from './handle-connect.ts';
import type { Connection } from './connection.ts';
import { log } from '../util/log.ts';
import { connack5 } from './connack5.ts';
import type { AuthExchange, AuthStep } from '../broker/access.ts';

/** What a successful exchange gives the CONNECT: the proven username, the CONNACK's properties. */
export interface Authenticated {
  username: string;
  props: Properties;
}

interface State {
  method: string;
  /** The exchange under way, if any. */
  ex?: AuthExchange;
  /** The CONNECT waiting for the exchange; undefined once CONNACK is sent. */
  connect?: ConnectPacket;
  username?: string;
}

// Per connection, only for clients that use enhanced authentication: no field on Connection.
const states = new WeakMap<Connection, State>();

/** True while the CONNECT of `conn` waits for its exchange: only AUTH or DISCONNECT may come. */
export const authenticating = (conn: Connection): boolean => states.get(conn)?.connect !== undefined;

/**
 * Ends the connection with a reason code: in a CONNACK (with `props`) before the client is
 * connected, since there may be no DISCONNECT before a successful CONNACK [MQTT-3.14.0-1]; else
 * in a DISCONNECT, which cannot carry authentication properties.
 */
function fail(conn: Connection, rc: number, why: string, props?: Properties): void {
  conn.write(conn.session ? encodeReason(14, 0, rc) : connack5(conn.broker.options, false, rc, props));
  log.notice(`Client ${conn.name}: authentication failed: ${why}.`);
  conn.end('', !!conn.session);
}

function answer(conn: Connection, st: State, r: AuthStep): void {
  // [MQTT-4.12.0-5] every AUTH and the successful CONNACK carry the CONNECT's method.
  const props: Properties = { authenticationMethod: st.method, authenticationData: r.data };
  // [MQTT-4.12.0-2] the server asks for more with AUTH 0x18.
  if (r.rc === 0x18) return conn.write(encodeReason(15, 0, 0x18, props));
  st.ex = undefined;
  // Refused, then closed [MQTT-4.12.0-4]; the data may say why (SCRAM's e=).
  if (r.rc) return fail(conn, r.rc, r.why, props);
  const p = st.connect;
  if (p) {
    st.connect = undefined;
    st.username = r.username;
    return handleConnect(conn, p, { username: r.username, props });
  }
  // Re-authentication may not change who the client is: its session and ACL are that user's.
  if (r.username !== st.username) return fail(conn, 0x87, `re-authenticated as '${r.username}'`);
  conn.write(encodeReason(15, 0, 0, props));
}

/** Feeds the client's data to the exchange, starting one (for CONNECT or re-authentication) if none runs. */
function step(conn: Connection, st: State, data: Buffer | undefined): void {
  st.ex ??= conn.broker.gate?.exchange?.(st.method, conn.listener);
  // [MQTT-4.12.0-1] a method the server does not offer (or no longer, after a reload): 0x8C, close.
  if (!st.ex) return fail(conn, 0x8c, `unknown authentication method '${st.method}'`);
  answer(conn, st, st.ex.step(data));
}

/** A CONNECT with an Authentication Method, once its other checks have passed. */
export function startAuth(conn: Connection, p: ConnectPacket): void {
  const st: State = { method: p.properties?.authenticationMethod as string, connect: p };
  states.set(conn, st);
  step(conn, st, p.properties?.authenticationData);
}

/** Why `p` may not come now (the rule it breaks), or '' if it continues the exchange. */
function outOfSequence(st: State | undefined, p: Packet): string {
  if (p.type !== 15) return 'MQTT-3.1.2-30'; // nothing but AUTH or DISCONNECT before CONNACK
  if (!st) return 'MQTT-4.12.0-7'; // no AUTH from a client that did not start with a method
  if (p.properties?.authenticationMethod !== st.method) return 'MQTT-4.12.0-5';
  // 0x18 answers the server's AUTH [MQTT-4.12.0-3]; 0x19 starts a re-authentication [MQTT-4.12.1-1].
  if (p.reasonCode !== (st.ex ? 0x18 : 0x19)) return st.ex ? 'MQTT-4.12.0-3' : 'MQTT-4.12.1-1';
  return '';
}

/** Any packet while authenticating, and AUTH after CONNACK. */
export function onAuth(conn: Connection, p: Packet): void {
  const st = states.get(conn);
  if (st?.connect && p.type === 14) return conn.end('', false); // the client gives up
  const rule = outOfSequence(st, p);
  if (rule || !st || p.type !== 15) return fail(conn, 0x82, `[${rule}] packet type ${p.type} out of sequence`);
  step(conn, st, p.properties?.authenticationData);
}
