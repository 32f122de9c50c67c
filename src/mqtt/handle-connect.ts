// CONNECT: identity checks, session attach or takeover, CONNACK, then redelivery.
import { randomUUID } from 'node:crypto';
import type { Access } from '../broker/access.ts';
import type { ConnectPacket } from '../codec/packets.ts';
import { type Authenticated, startAuth } from './handle-auth.ts';
import { connack5, connackProps } from './connack5.ts';
import { aliasesFor } from './topic-alias.ts';
import type { Connection } from './connection.ts';
import { log } from '../util/log.ts';

/** `code` 0: closed without a CONNACK. */
function refuse(conn: Connection, code: number, why: string): void {
  if (code) conn.write(MQTT5 && conn.protocolLevel === 5 ? connack5(conn.broker.options, false, code) : Buffer.from([0x20, 2, 0, code]));
  log.notice(`Refused connection from ${conn.remote}: ${why}.`);
  conn.end('', false);
}

/** `auth`: MQTT 5 enhanced authentication succeeded and calls again with the proven username. */
export function handleConnect(conn: Connection, p: ConnectPacket, auth?: Authenticated): void {
  const broker = conn.broker;
  const o = broker.options;
  const l = conn.listener;
  let id = p.clientId;
  if (MQTT5) conn.protocolLevel = p.protocolLevel; // refusals answer an MQTT 5 client in MQTT 5
  // Level | 0x80: a bridge (try_private), accepted by the decoder in builds with BRIDGE.
  const level = BRIDGE ? p.protocolLevel & 0x7f : p.protocolLevel;
  // accept_protocol_versions (Mosquitto 2.1): 1 "unacceptable protocol version" (MQTT 5: 0x84).
  if (l?.versions && !l.versions.includes(level)) return refuse(conn, 1, `protocol level ${level} (accept_protocol_versions)`);
  if (level === 3 && (id.length === 0 || id.length > 23)) {
    // MQTT 3.1 allows client ids of 1 to 23 characters only.
    return refuse(conn, 2, `MQTT 3.1 client id of ${id.length} characters`);
  }
  const v5 = MQTT5 && conn.protocolLevel === 5;
  if (id.length === 0) {
    // MQTT 5 allows it with Clean Start 0 too, and says which id it got [MQTT-3.2.2-16].
    if (!p.clean && !(MQTT5 && v5)) return refuse(conn, 2, '[MQTT-3.1.3-8] empty client id with clean session 0');
    // MQTT 5: 0x85 Client Identifier not valid (Mosquitto sends 0x80 Unspecified error).
    if (l?.zeroLength === false) return refuse(conn, 2, 'allow_zero_length_clientid false');
    id = (l?.idPrefix ?? 'auto-') + randomUUID().toUpperCase(); // [MQTT-3.1.3-6]
  }
  // max_qos: a will above it is refused, as Mosquitto (MQTT 5: CONNACK 0x9B; 3.1.1 has no code
  // for it: the connection is closed).
  const maxQos = conn.listener?.maxQos;
  if (maxQos !== undefined && p.will && p.will.qos > maxQos) {
    return refuse(conn, MQTT5 && v5 ? 0x9b : 0, `will QoS ${p.will.qos} above max_qos`);
  }
  // As Mosquitto: 5 "not authorised" (MQTT 5: 0x87), generated ids included.
  if (!id.startsWith(o.clientPrefix)) return refuse(conn, 5, `client id ${id} (clientid_prefixes)`);
  let keepalive = p.keepalive;
  const maxKeepalive = broker.options.maxKeepalive;
  if (maxKeepalive > 0 && (p.keepalive === 0 || p.keepalive > maxKeepalive)) {
    // A 3.1.1 client cannot be told a server keep-alive, so Mosquitto 2 refuses it instead; an
    // MQTT 5 client is told to use max_keepalive [MQTT-3.2.2-21].
    if (MQTT5 && v5) keepalive = maxKeepalive;
    else return refuse(conn, 2, `keep-alive ${p.keepalive} of client ${id} outside 1..${maxKeepalive} (max_keepalive)`);
  }
  // MQTT 5 enhanced authentication: the exchange runs first and calls back with `auth`.
  if (AUTH && MQTT5 && !auth && p.properties?.authenticationMethod !== undefined) return startAuth(conn, p);
  // use_identity_as_username: the transport vouches for the username (the TLS certificate's CN).
  const username = (AUTH && MQTT5 && auth ? auth.username : conn.identity) ?? p.username;
  if (l?.usernameAsId) {
    if (username === undefined) return refuse(conn, 5, `no username (use_username_as_clientid)`);
    id = username;
  }
  let access: Access | undefined;
  if (AUTH && broker.gate) {
    const verified = conn.identity !== undefined || auth !== undefined;
    const a = broker.gate.admit({ clientId: id, username, password: p.password, listener: conn.listener, verified });
    if (!a.ok) return refuse(conn, a.code, a.why);
    access = a.access;
  } else if (!broker.options.allowAnonymous && username === undefined) {
    return refuse(conn, 5, `anonymous client ${id} (allow_anonymous false)`);
  }
  // global_max_clients (Mosquitto 2.1) counts sessions, connected or not; taking one over is no new one.
  const max = o.sessionLimit;
  if (max > 0 && !broker.sessions.has(id) && broker.sessions.size >= max) {
    // MQTT 5: 0x89 Server busy, as Mosquitto; 3.x: 3 Server unavailable (Mosquitto closes without a CONNACK).
    return refuse(conn, MQTT5 && v5 ? 0x89 : 3, 'global_max_clients reached');
  }
  conn.clientId = id;
  conn.protocolLevel = level;
  if (BRIDGE) conn.bridge = p.protocolLevel > 0x7f;
  conn.keepalive = keepalive;
  if (MQTT5) {
    conn.props5 = p.properties;
    conn.aliases = p.properties && aliasesFor(conn.listener, p.properties);
  }
  const mp = conn.listener?.mountPoint;
  const will = p.will && { ...p.will, topic: mp ? mp + p.will.topic : p.will.topic, payload: Buffer.from(p.will.payload) };
  // MQTT 5: Clean Start only discards state; the Session Expiry Interval (absent = 0) says how
  // long the session outlives the connection [MQTT-3.1.2-23].
  const expiry = MQTT5 && v5 ? (p.properties?.sessionExpiryInterval ?? 0) : undefined;
  const { session, present } = broker.attach(id, p.clean, will, conn, MQTT5 && v5 ? expiry === 0 : p.clean);
  if (MQTT5) session.expiry = expiry;
  conn.session = session;
  if (AUTH) session.access = access;
  if (PERSIST) session.store?.connected(session, username);
  // The client's Receive Maximum lowers the in-flight window [MQTT-3.3.4-9] (this connection's
  // only: a 3.1.1 client taking the session over gets max_inflight_messages again).
  if (MQTT5) session.window = Math.min(broker.options.maxInflight || 65535, p.properties?.receiveMaximum ?? 65535);
  // [MQTT-3.2.2-1] session present is 0 for a clean session; [MQTT-3.2.2-2] 1 when state was kept.
  // MQTT 3.1 has no such flag: that byte is reserved (0).
  conn.write(
    MQTT5 && v5
      ? connack5(broker.options, present, 0, Object.assign(connackProps(p, id, keepalive, maxQos), AUTH && auth?.props), conn.aliases?.inMax)
      : Buffer.from([0x20, 2, present && conn.protocolLevel > 3 ? 1 : 0, 0]),
  );
  // Mosquitto's line: p1 = MQTT 3.1, p2 = 3.1.1, p5 = 5.
  if (o.logConnections) {
    log.notice(
      `New ${BRIDGE && conn.bridge ? 'bridge' : 'client'} connected from ${conn.remote} as ${id} (p${level > 4 ? 5 : level - 2}, c${p.clean ? 1 : 0}, k${p.keepalive}${username !== undefined ? `, u'${username}'` : ''}).`,
    );
  }
  session.resume(conn);
}
