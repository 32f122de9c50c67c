// MQTT 5 subscription options and identifiers. The topic tree keeps one number per subscription
// (its "options"), so the publish path reads them with the QoS and a 3.1.1 subscription costs
// nothing more: bits 0-1 QoS, bit 2 No Local, bit 3 Retain As Published, and the Subscription
// Identifier times 16 above them (ids reach 2^28, past 32-bit operators: hence + and / 16).
// A subscription with no option set and no id is stored as its bare QoS.
import { ProtocolError, type QoS, type Subscription } from '../codec/packets.ts';
import type { Message } from './message.ts';
import type { Session } from './session.ts';
import { encodeProps } from '../codec/properties.ts';

/** What a subscriber's option-carrying subscriptions add to one match (a publish). */
export interface Match5 {
  /** TopicTree generation of the match these fields belong to. */
  gen: number;
  /** Subscription identifiers of the matching subscriptions [MQTT-3.3.4-4]. */
  ids: number[];
  /** Some matching subscription has Retain As Published. */
  rap: boolean;
}

interface Sub5 {
  matchGen: number;
  matchQos: QoS;
  m5?: Match5;
}

/** The options number of a SUBSCRIBE entry with identifier `id` (SUBSCRIBE's property). */
export function optionsOf(s: Subscription, id: number | undefined): number {
  // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
  if (s.noLocal && s.topic.startsWith('$share/')) throw new ProtocolError('MQTT-3.8.3-4', `No Local on shared subscription ${s.topic}`);
  return (s.qos | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0)) + (id ?? 0) * 16;
}

/** The Subscription Identifier property of one subscription's options, if it has an id. */
export const idProps = (o: number): Buffer | undefined => (o >= 16 ? encodeProps({ subscriptionIdentifier: Math.floor(o / 16) }) : undefined);

/**
 * TopicTree.collect for a subscription with options `o` > 2: No Local skips the publisher's own
 * session (`self`) [MQTT-3.8.3-3]; ids and Retain As Published gather in the subscriber's Match5.
 */
export function collect5<S extends Sub5>(s: S, o: number, gen: number, out: S[], self: unknown): void {
  if (o & 4 && s === self) return;
  const q = (o & 3) as QoS;
  if (s.matchGen !== gen) {
    s.matchGen = gen;
    s.matchQos = q;
    out.push(s);
  } else if (q > s.matchQos) s.matchQos = q;
  let m = s.m5;
  if (m === undefined) m = s.m5 = { gen, ids: [], rap: false };
  else if (m.gen !== gen) {
    m.gen = gen;
    m.ids.length = 0;
    m.rap = false;
  }
  if (o & 8) m.rap = true;
  if (o >= 16) m.ids.push(Math.floor(o / 16));
}

/** Delivers through the options gathered by collect5 (s.m5 is of this match). */
export function deliver5(s: Session, msg: Message, qos: QoS): void {
  const m = s.m5!;
  s.deliver(msg, qos, false, m.ids.length ? encodeProps({ subscriptionIdentifier: m.ids }) : undefined, m.rap);
}
