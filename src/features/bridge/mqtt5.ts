// A bridge link speaking MQTT 5 (bridge_protocol_version mqttv50): what differs from 3.1.1 on the
// wire. Loops are prevented as Mosquitto's v5 bridges do, with No Local on the link's remote
// subscriptions instead of try_private; RETAIN stays as published (Retain As Published).
import type { Message } from '../../broker/message.ts';
import { encodePublish5 } from '../../codec/encoder.ts';
import type { Properties, PublishPacket, QoS, Subscription } from '../../codec/packets.ts';
import { encodeProps } from '../mqtt5/properties.ts';

type M5 = Message & { properties?: Properties };

/** The CONNECT properties: a persistent remote session (cleansession false) never expires. */
export const connectProps = (clean: boolean): Properties | undefined => (clean ? undefined : { sessionExpiryInterval: 0xffffffff });

/** Subscription options of the link's remote subscriptions. */
export const subOptions = (topic: string, qos: QoS): Subscription => ({ topic, qos, noLocal: true, retainAsPublished: true });

/** A message for the remote, with its properties. */
export function publish5(msg: Message, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number): Buffer {
  return encodePublish5(topic, msg.payload, qos, retain, dup, packetId, encodeProps((msg as M5).properties));
}

/** The properties a message from the remote keeps: not the per-connection ones. */
export function inboundProps(p: PublishPacket): Properties | undefined {
  if (!p.properties) return undefined;
  const { topicAlias, subscriptionIdentifier, ...rest } = p.properties;
  void topicAlias, subscriptionIdentifier;
  return rest;
}
