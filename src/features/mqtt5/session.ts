// MQTT 5 on a client connection: CONNACK with what the server supports, the message properties
// that travel with a message, and the PUBLISH encoding for MQTT 5 subscribers.
import { encode5, encodePublish5 } from '../../codec/encoder.ts';
import { ProtocolError, type Properties, type PublishPacket, type QoS, type Will } from '../../codec/packets.ts';
import type { BrokerOptions } from '../../broker/broker.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import { stamp } from './expiry.ts';
import { encodeProps, NO_PROPS } from './properties.ts';
import { type Aliases, aliasOut, sendTopic } from './topic-alias.ts';

/** 3.1.1 CONNACK return code → MQTT 5 reason code (bad protocol, id, unavailable, credentials, auth). */
const CONNACK5 = [0, 0x84, 0x85, 0x88, 0x86, 0x87];

/**
 * The MQTT 5 CONNACK. Properties only where they differ from the spec's defaults (§3.2.2.3):
 * Receive Maximum is max_inflight_messages (as in Mosquitto), Topic Alias Maximum the listener's
 * max_topic_alias (`aliasMax`); wildcard, shared subscriptions and subscription ids are available,
 * as the defaults say. In Mosquitto's order, the client's own ones (connect.ts) among them.
 * `properties`: the ones that depend on the client (connect.ts, enhanced authentication).
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

/**
 * The properties of a received PUBLISH (or a Will) that are forwarded with the message
 * [MQTT-3.3.2-15..20]: not the topic alias (resolved by publish-in.ts), subscription ids or will
 * delay. Undefined if none, so the message keeps the 3.1.1 shape. A client may not send a
 * subscription id [MQTT-3.3.4-6].
 */
export function forwarded(props: Properties | undefined, p?: PublishPacket): Properties | undefined {
  if (!props || props === NO_PROPS) return undefined;
  if (p) {
    if (props.subscriptionIdentifier !== undefined) throw new ProtocolError('MQTT-3.3.4-6', 'PUBLISH from a client with a subscription identifier');
  }
  // The decoder let only message properties and these three into a PUBLISH or a Will.
  const f = { ...props };
  delete f.subscriptionIdentifier;
  delete f.topicAlias;
  delete f.willDelayInterval;
  return Object.keys(f).length > 0 ? f : undefined;
}

/** The message of a Will, with the Will's message properties (not the will delay). */
export function willMessage(will: Will, now: number): Message {
  const msg = makeMessage(will.topic, will.payload, will.qos, will.retain);
  const props = forwarded(will.properties);
  if (props) msg.properties = props;
  return stamp(msg, now);
}

/**
 * A message's forwarded properties as wire bytes: encoded once (props5), unless it expires, when
 * they carry the seconds left at `now` [MQTT-3.3.2-6] and are encoded per send.
 */
export function propsAt(msg: Message, now: number): Buffer {
  const at = msg.expiresAt;
  if (at !== undefined) return encodeProps({ ...msg.properties, messageExpiryInterval: at > now ? at - now : 0 });
  return msg.properties ? (msg.props5 ??= encodeProps(msg.properties)) : encodeProps(undefined);
}

/**
 * The PUBLISH for an MQTT 5 subscriber. The forwarded properties are encoded once per message
 * (props5), and the QoS 0 form is shared by every MQTT 5 subscriber (enc5), as enc0 is for 3.1.1,
 * unless the subscriber has properties of its own: `x` (subscription ids) or a topic alias from
 * `a`, the connection's aliases. A message that expires carries the seconds left at `now`
 * [MQTT-3.3.2-6], encoded per send.
 */
export function publish5(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean, now: number, x?: Buffer, a?: Aliases): Buffer {
  const expiring = msg.expiresAt !== undefined;
  const props = propsAt(msg, now);
  let topic = msg.topic;
  if (a) {
    x = aliasOut(a, topic, x);
    topic = sendTopic;
  }
  if (qos === 0 && !retain && !x && !expiring) return (msg.enc5 ??= encodePublish5(topic, msg.payload, 0, false, false, 0, props));
  return encodePublish5(topic, msg.payload, qos, retain, dup, packetId, props, x);
}
