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
// Quota exceeded), and a QoS 1/2 publisher sends the message again when it reconnects.
import { log } from '../util/log.ts';
import type { Broker } from './broker.ts';

/** Adds `bytes` to the count; false (nothing added) when that would pass memory_limit. */
export function admit(broker: Broker, bytes: number): boolean {
  const used = broker.memUsed + bytes;
  if (used > broker.options.memLimit) {
    if (!broker.memFull) log.warning(`memory_limit reached: refusing messages.`);
    broker.memFull = true;
    return false;
  }
  broker.memUsed = used;
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
