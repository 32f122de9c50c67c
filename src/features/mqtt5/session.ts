// MQTT 5 on a client connection: CONNACK with what the server supports, the message properties
// that travel with a message, and the PUBLISH encoding for MQTT 5 subscribers.
import { encode5, encodePublish5 } from '../../codec/encoder.ts';
import { ProtocolError, type Properties, type PublishPacket, type QoS, type Will } from '../../codec/packets.ts';
import type { BrokerOptions } from '../../broker/broker.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import { encodeProps } from './properties.ts';

/** 3.1.1 CONNACK return code → MQTT 5 reason code (bad protocol, id, unavailable, credentials, auth). */
const CONNACK5 = [0, 0x84, 0x85, 0x88, 0x86, 0x87];

/**
 * The MQTT 5 CONNACK. Properties only where they differ from the spec's defaults: Receive Maximum
 * is max_inflight_messages (as in Mosquitto); features not built yet are announced as absent
 * (Topic Alias Maximum is absent = 0). Later work adds to these.
 */
export function connack5(o: BrokerOptions, present: boolean, code: number): Buffer {
  const properties: Properties = {};
  if (code === 0) {
    if (o.maxInflight > 0 && o.maxInflight < 65535) properties.receiveMaximum = o.maxInflight;
    if (!o.retainAvailable) properties.retainAvailable = 0;
    properties.subscriptionIdentifiersAvailable = 0;
    properties.sharedSubscriptionAvailable = 0;
  }
  return encode5({ type: 2, sessionPresent: present, returnCode: CONNACK5[code] ?? code, properties });
}

/**
 * The properties of a received PUBLISH (or a Will) that are forwarded with the message
 * [MQTT-3.3.2-15..20]: not the topic alias, subscription ids or will delay. Undefined if none, so
 * the message keeps the 3.1.1 shape. A client may not send a subscription id [MQTT-3.3.4-6], nor
 * a topic alias while the server's Topic Alias Maximum is 0 [MQTT-3.3.2-9].
 */
export function forwarded(props: Properties | undefined, p?: PublishPacket): Properties | undefined {
  if (!props) return undefined;
  if (p) {
    if (props.subscriptionIdentifier !== undefined) throw new ProtocolError('MQTT-3.3.4-6', 'PUBLISH from a client with a subscription identifier');
    if (props.topicAlias !== undefined) throw new ProtocolError('MQTT-3.3.2-9', 'topic alias while Topic Alias Maximum is 0');
  }
  // The decoder let only message properties and these three into a PUBLISH or a Will.
  const f = { ...props };
  delete f.subscriptionIdentifier;
  delete f.topicAlias;
  delete f.willDelayInterval;
  return Object.keys(f).length > 0 ? f : undefined;
}

/** The message of a Will, with the Will's message properties (not the will delay). */
export function willMessage(will: Will): Message {
  const msg = makeMessage(will.topic, will.payload, will.qos, will.retain);
  const props = forwarded(will.properties);
  if (props) msg.properties = props;
  return msg;
}

/**
 * The PUBLISH for an MQTT 5 subscriber. The forwarded properties are encoded once per message
 * (props5), and the QoS 0 form is shared by every MQTT 5 subscriber (enc5), as enc0 is for 3.1.1.
 */
export function publish5(msg: Message, qos: QoS, packetId: number, dup: boolean, retain: boolean): Buffer {
  const props = msg.properties ? (msg.props5 ??= encodeProps(msg.properties)) : encodeProps(undefined);
  if (qos === 0 && !retain) return (msg.enc5 ??= encodePublish5(msg.topic, msg.payload, 0, false, false, 0, props));
  return encodePublish5(msg.topic, msg.payload, qos, retain, dup, packetId, props);
}
