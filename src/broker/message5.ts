// MQTT 5 message properties as the broker keeps them: what a received PUBLISH or Will forwards,
// a Will's message, and the forwarded properties as wire bytes at a given time.
import { ProtocolError, type Properties, type PublishPacket, type Will } from '../codec/packets.ts';
import { encodeProps, NO_PROPS } from '../codec/properties.ts';
import { stamp } from './expiry.ts';
import { makeMessage, type Message } from './message.ts';

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
