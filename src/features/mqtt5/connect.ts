// The CONNACK properties that depend on the MQTT 5 client (the server-wide ones are in connack5).
import type { ConnectPacket, Properties } from '../../codec/packets.ts';

/** The id an empty client id was given [MQTT-3.2.2-16]; the keep-alive the client must use instead of its own [MQTT-3.2.2-21]. */
export function connackProps(p: ConnectPacket, id: string, keepalive: number): Properties {
  const props: Properties = {};
  if (p.clientId === '') props.assignedClientIdentifier = id;
  if (keepalive !== p.keepalive) props.serverKeepAlive = keepalive;
  return props;
}
