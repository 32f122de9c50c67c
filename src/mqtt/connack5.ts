// The MQTT 5 CONNACK: the server-wide properties (connack5) and those that depend on the client
// (connackProps).
import type { BrokerOptions } from '../broker/broker.ts';
import { encode5 } from '../codec/encoder.ts';
import type { ConnectPacket, Properties } from '../codec/packets.ts';

/**
 * The id an empty client id was given [MQTT-3.2.2-16]; the keep-alive the client must use instead
 * of its own [MQTT-3.2.2-21]; the listener's max_qos below 2 (Maximum QoS, after Receive Maximum as
 * in Mosquitto).
 */
export function connackProps(p: ConnectPacket, id: string, keepalive: number, maxQos?: number): Properties {
  const props: Properties = {};
  if (p.clientId === '') props.assignedClientIdentifier = id;
  if (keepalive !== p.keepalive) props.serverKeepAlive = keepalive;
  if (maxQos !== undefined && maxQos < 2) props.maximumQoS = maxQos;
  return props;
}

/** 3.1.1 CONNACK return code → MQTT 5 reason code (bad protocol, id, unavailable, credentials, auth). */
const CONNACK5 = [0, 0x84, 0x85, 0x88, 0x86, 0x87];

/**
 * The MQTT 5 CONNACK. Properties only where they differ from the spec's defaults (§3.2.2.3):
 * Receive Maximum is max_inflight_messages (as in Mosquitto), Topic Alias Maximum the listener's
 * max_topic_alias (`aliasMax`); wildcard, shared subscriptions and subscription ids are available,
 * as the defaults say. In Mosquitto's order, the client's own ones (connackProps) among them.
 * `properties`: the ones that depend on the client (connackProps, enhanced authentication).
 */
export function connack5(o: BrokerOptions, present: boolean, code: number, properties: Properties = {}, aliasMax?: number): Buffer {
  if (code === 0) {
    properties = {
      topicAliasMaximum: aliasMax || undefined,
      serverKeepAlive: undefined,
      assignedClientIdentifier: undefined,
      retainAvailable: o.retainAvailable ? undefined : 0,
      maximumPacketSize: o.maxPacketSize || undefined,
      receiveMaximum: o.maxInflight > 0 && o.maxInflight < 65535 ? o.maxInflight : undefined,
      ...properties,
    };
  }
  return encode5({ type: 2, sessionPresent: present, returnCode: CONNACK5[code] ?? code, properties });
}
