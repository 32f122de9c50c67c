// A bridge link speaking MQTT 5 (bridge_protocol_version mqttv50): what differs from 3.1.1 on the
// wire. Loops are prevented as Mosquitto's v5 bridges do, with No Local on the link's remote
// subscriptions instead of try_private; RETAIN stays as published (Retain As Published).
import type { Broker } from '../../broker/broker.ts';
import type { Message } from '../../broker/message.ts';
import type { Session } from '../../broker/session.ts';
import { encodePublish5 } from '../../codec/encoder.ts';
import type { Properties, PublishPacket, QoS, Subscription } from '../../codec/packets.ts';
import type { BridgeConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import type { Limiter } from '../../util/rate-limit.ts';
import { forwarded, propsAt } from '../../broker/message5.ts';

/**
 * The CONNECT properties. Session Expiry Interval: bridge_session_expiry_interval, else a
 * persistent remote session (cleansession false) never expires. Receive Maximum:
 * bridge_receive_maximum, else max_inflight_messages (as Mosquitto 2.1). Spec defaults are left out.
 */
export function connectProps(c: BridgeConfig, inflight: number): Properties | undefined {
  const p: Properties = {};
  const expiry = c.sessionExpiry ?? (c.cleanSession ? 0 : 0xffffffff);
  if (expiry) p.sessionExpiryInterval = expiry;
  const rm = c.receiveMaximum ?? inflight;
  if (rm && rm < 65535) p.receiveMaximum = rm;
  return p;
}

/** Subscription options of the link's remote subscriptions. */
export const subOptions = (topic: string, qos: QoS): Subscription => ({ topic, qos, noLocal: true, retainAsPublished: true });

/**
 * A message for the remote, with its properties: encoded once per message (shared with clients),
 * or per send with the seconds left of a Message Expiry Interval [MQTT-3.3.2-6]. Undefined once
 * that has passed [MQTT-3.3.2-5], unless it is a resend (its delivery has begun).
 */
export function publish5(msg: Message, topic: string, qos: QoS, retain: boolean, dup: boolean, packetId: number, now: number): Buffer | undefined {
  const at = msg.expiresAt;
  if (at !== undefined && at < now && !dup) return undefined;
  return encodePublish5(topic, msg.payload, qos, retain, dup, packetId, propsAt(msg, now));
}

/** A message from the remote takes its forwarded properties, and when it expires (broker seconds). */
export function fromRemote(msg: Message, p: PublishPacket, now: number): void {
  const props = forwarded(p.properties);
  if (!props) return;
  msg.properties = props;
  if (props.messageExpiryInterval !== undefined) msg.expiresAt = now + props.messageExpiryInterval;
}

/**
 * Whether an ack's reason code says the remote refused the message (0x80 or more, e.g. 0x87 not
 * authorised). Counted as dropped and logged (the first, then one in 1000); the caller finishes
 * the message instead of resending it.
 */
export function refusedBy(link: { readonly cfg: BridgeConfig; readonly logRefused: Limiter }, broker: Broker, s: Session, packetId: number, rc = 0): boolean {
  if (rc < 0x80) return false;
  broker.stats.messagesDropped++;
  if (link.logRefused()) {
    log.warning(`Bridge ${link.cfg.name}: the remote refused the message on ${s.inFlight(packetId)?.msg.topic} (reason 0x${rc.toString(16)}).`);
  }
  return true;
}
