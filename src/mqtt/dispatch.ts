// Routes each decoded packet to its handler. Before CONNECT only CONNECT is allowed
// [MQTT-3.1.0-1]; a second CONNECT is a violation [MQTT-3.1.0-2].
import { type DisconnectPacket, type Packet, ProtocolError, RC_DISCONNECT_WITH_WILL } from '../codec/packets.ts';
import { PINGRESP_BYTES } from '../codec/encoder.ts';
import type { Connection } from './connection.ts';
import { authenticating, onAuth } from './handle-auth.ts';
import { handleConnect } from './handle-connect.ts';
import { handlePublish, handlePubrel } from './handle-publish.ts';
import { handlePuback, handlePubcomp, handlePubrec } from './handle-ack.ts';
import { handleSubscribe, handleUnsubscribe } from './handle-subscribe.ts';
import { setExpiry } from '../broker/lifetime.ts';

export function handlePacket(conn: Connection, p: Packet): void {
  const session = conn.session;
  if (!session) {
    // MQTT 5 enhanced authentication under way: the exchange takes every packet until CONNACK.
    if (AUTH && MQTT5 && authenticating(conn)) return onAuth(conn, p);
    if (p.type !== 1) throw new ProtocolError('MQTT-3.1.0-1', 'first packet was not CONNECT');
    handleConnect(conn, p);
    return;
  }
  switch (p.type) {
    case 3: return handlePublish(conn, session, p);
    case 4: return handlePuback(session, p.packetId);
    case 5: return handlePubrec(conn, session, p.packetId, p.reasonCode);
    case 6: return handlePubrel(conn, session, p.packetId);
    case 7: return handlePubcomp(session, p.packetId);
    case 8: return handleSubscribe(conn, session, p);
    case 10: return handleUnsubscribe(conn, session, p);
    case 12: return conn.write(PINGRESP_BYTES);
    // [MQTT-3.14.4-3] no will after DISCONNECT, unless MQTT 5 reason 0x04 asks for it
    case 14:
      // MQTT 5: the Session Expiry Interval may change on the way out.
      if (MQTT5) setExpiry(session, (p as DisconnectPacket).properties?.sessionExpiryInterval);
      return conn.end('Client % disconnected', MQTT5 && (p as DisconnectPacket).reasonCode === RC_DISCONNECT_WITH_WILL);
    case 1: throw new ProtocolError('MQTT-3.1.0-2', 'second CONNECT on one connection');
    default:
      if (AUTH && MQTT5 && p.type === 15) return onAuth(conn, p); // MQTT 5 re-authentication
      throw new ProtocolError('MQTT-4.8.0-1', `packet type ${p.type} is not sent by clients`);
  }
}
