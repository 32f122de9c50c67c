// MQTT 5 topic aliases, per network connection and forgotten with it [MQTT-3.3.2-7]. Inbound:
// the client maps aliases 1..max_topic_alias (sent in CONNACK) to topics. Outbound: the broker
// gives aliases to the first topics it sends, up to the client's Topic Alias Maximum, and then
// sends those topics as an empty name and the alias.
import { ProtocolError, type Properties, type PublishPacket } from '../codec/packets.ts';
import type { ListenerConfig } from '../config/types.ts';

export interface Aliases {
  /** Inbound: alias → topic. */
  readonly in: Map<number, string>;
  /** Outbound: topic → alias. */
  readonly out: Map<string, number>;
  /** max_topic_alias: the largest alias the client may send. */
  readonly inMax: number;
  /** The client's Topic Alias Maximum: the largest alias we may send [MQTT-3.1.2-26]. */
  readonly outMax: number;
}

/** A connection's aliases, if it takes or gives any: max_topic_alias (default 10), the CONNECT's Topic Alias Maximum. */
export function aliasesFor(l: ListenerConfig | undefined, p: Properties): Aliases | undefined {
  const inMax = l?.maxTopicAlias ?? 10;
  const outMax = p.topicAliasMaximum ?? 0;
  return inMax || outMax ? { in: new Map(), out: new Map(), inMax, outMax } : undefined;
}

/**
 * Resolves the Topic Alias of an inbound PUBLISH into p.topic (a topic with the alias sets it) and
 * drops it from the properties: it is not forwarded. Violations close the connection with 0x94
 * (alias 0 or above the maximum) or 0x82 (an unknown alias).
 */
export function aliasIn(a: Aliases | undefined, p: PublishPacket): void {
  const props = p.properties!;
  const n = props.topicAlias!;
  delete props.topicAlias;
  if (n === 0) throw new ProtocolError('MQTT-3.3.2-8', 'topic alias 0');
  // [MQTT-3.3.2-12] the server accepts 1..the maximum it sent, and no more [MQTT-3.2.2-17].
  if (!a || n > a.inMax) throw new ProtocolError('MQTT-3.3.2-9', `topic alias ${n} above the maximum ${a ? a.inMax : 0}`);
  if (p.topic) a.in.set(n, p.topic);
  else {
    const t = a.in.get(n);
    if (t === undefined) throw new ProtocolError('MQTT5-3.3.2.3.4', `unknown topic alias ${n}`);
    p.topic = t;
  }
}

/** Set by aliasOut: the topic name to send ('' when the client knows its alias). */
export let sendTopic = '';

/**
 * The per-subscriber properties of a PUBLISH to `topic` on a connection that takes aliases: its
 * Topic Alias (new, or known: then sendTopic is '') followed by `x`. Topics past the client's
 * maximum go without one.
 */
export function aliasOut(a: Aliases, topic: string, x: Buffer | undefined): Buffer | undefined {
  let n = a.out.get(topic);
  sendTopic = n === undefined ? topic : '';
  if (n === undefined) {
    if (a.out.size >= a.outMax) return x;
    a.out.set(topic, (n = a.out.size + 1));
  }
  const b = Buffer.allocUnsafe(3 + (x ? x.length : 0));
  b[0] = 0x23;
  b.writeUInt16BE(n, 1);
  if (x) x.copy(b, 3);
  return b;
}
