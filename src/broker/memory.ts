// memory_limit (docs/configuration.md#memory_limit): a bound on the message data the broker holds.
//
// What is counted: payload and topic bytes of the retained messages, and payload bytes of every
// message queued or in flight for a session (per session, as max_queued_bytes counts them). The
// broker measures that once a second (measure, from its tick) and adds each accepted message in
// between (admit), so the count never lags behind what came in. Node's own fixed memory (code,
// buffers of idle sockets) is not counted: the limit is on what grows with traffic.
//
// At the limit a message is refused before it is acknowledged (an acknowledgement is a promise,
// docs/flow-control.md): as Mosquitto, the publisher is disconnected (MQTT 5: DISCONNECT 0x97
// Quota exceeded), and a QoS 1/2 publisher sends the message again when it reconnects. An MQTT-SN
// client's QoS 1/2 message gets PUBACK "rejected: congestion" (it retries later); QoS 0/-1
// messages of MQTT-SN clients and lines of serial links are dropped; a bridge link is dropped
// (and reconnects) before it acknowledges what the remote sent.
import { log } from '../util/log.ts';
import type { Broker } from './broker.ts';

/** Whether `bytes` more would pass memory_limit (nothing counted). */
export const wouldPass = (broker: Broker, bytes: number): boolean => broker.memUsed + bytes > broker.options.memLimit;

/** Adds `bytes` to the count; false (nothing added) when that would pass memory_limit. */
export function admit(broker: Broker, bytes: number): boolean {
  if (wouldPass(broker, bytes)) {
    if (!broker.memFull) log.warning(`memory_limit reached: refusing messages.`);
    broker.memFull = true;
    return false;
  }
  broker.memUsed += bytes;
  return true;
}

/** Counts what is held now (once a second while memory_limit is set). */
export function measure(broker: Broker): void {
  let used = broker.retained.bytes;
  for (const s of broker.sessions.values()) used += s.heldBytes;
  broker.memUsed = used;
  if (broker.memFull && used < broker.options.memLimit) {
    broker.memFull = false;
    log.notice(`Below memory_limit: accepting messages.`);
  }
}
