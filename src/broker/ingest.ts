// A message arriving from any client, whatever its protocol: the checks every publish passes
// (acceptPublish), and the one call features use to publish what they receive (ingest).
import { log } from '../util/log.ts';
import type { Access } from './access.ts';
import type { Broker } from './broker.ts';
import type { Paced } from './flow.ts';
import { makeMessage } from './message.ts';
import { admit } from './memory.ts';
import type { QoS } from '../codec/packets.ts';

/**
 * Limits, reserved topics and the ACL (`access`, AUTH) for a message a client published, whatever
 * its protocol. A refused message is still acknowledged by
 * the caller so the client moves on. `from.name` names the client in the log (read only when
 * logging); `from.bridge` marks a bridge link.
 */
export function acceptPublish(
  broker: Broker,
  from: { readonly name: string; readonly bridge?: unknown },
  access: Access | undefined,
  topic: string,
  payload: Buffer,
  retain: boolean,
): boolean {
  const limit = broker.options.messageSizeLimit;
  if (limit > 0 && payload.length > limit) {
    log.warning(`Client ${from.name}: dropped message on ${topic} of ${payload.length} bytes (message_size_limit ${limit}).`);
    return false;
  }
  // A bridge may publish its connection state ($SYS/broker/connection/ID/state), as in Mosquitto.
  if (topic.startsWith('$SYS') && !(BRIDGE && from.bridge && topic.startsWith('$SYS/broker/connection/'))) {
    log.debug(`Client ${from.name}: dropped publish to reserved topic ${topic}.`);
    return false;
  }
  // MQTT 3.1.1 has no way to say "denied": the message is acknowledged and dropped (as Mosquitto);
  // MQTT 5 acknowledges it with 0x87 (handlePublish).
  if (AUTH && access && !access.mayWrite(topic)) {
    log.debug(`Client ${from.name}: publish to ${topic} denied by ACL.`);
    return false;
  }
  if (retain && !broker.options.retainAvailable) {
    log.notice(`Client ${from.name} sent a retained message but retain_available is false; sent without RETAIN.`);
  }
  return true;
}

/**
 * "A message arrived from `from`" (an MQTT-SN client, a serial line): counted, checked
 * (memory_limit, acceptPublish), then published; `by` is paced if a subscriber's queue is full
 * (flow.ts). False if refused (the caller still acknowledges it, so the client moves on).
 */
export function ingest(broker: Broker, from: { readonly name: string }, access: Access | undefined, topic: string, payload: Buffer, qos: QoS, retain: boolean, by?: Paced): boolean {
  broker.stats.messagesReceived++;
  // memory_limit: dropped (an MQTT-SN client's QoS 1/2 message is refused before, with congestion).
  if (broker.options.memLimit > 0 && !admit(broker, topic.length + payload.length)) return false;
  if (!acceptPublish(broker, from, access, topic, payload, retain)) return false;
  broker.publish(makeMessage(topic, payload, qos, retain), undefined, by);
  return true;
}
