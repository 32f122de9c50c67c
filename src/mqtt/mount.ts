// mount_point (per listener, docs/configuration.md#mount_point): the topics of the listener's
// clients live under a prefix. Topics and filters they send get it in front (a shared
// subscription's filter, not its $share/GROUP/); messages sent to them have it taken off. A filter
// such as `$SYS/#` thus becomes `PREFIX$SYS/#` and sees nothing, as in Mosquitto.
import type { Message } from '../broker/message.ts';
import { aclFilter } from '../broker/shared.ts';

/** A client's topic filter, as the broker knows it. */
export function mountFilter(mp: string, f: string): string {
  if (MQTT5) {
    const inner = aclFilter(f);
    if (inner !== f) return f.slice(0, f.length - inner.length) + mp + inner;
  }
  return mp + f;
}

/**
 * The message as the client sees it: its topic without the prefix. A copy, with no shared
 * encodings (they hold the full topic). A topic outside the prefix (a session that came over from
 * another listener) goes as it is.
 */
export function unmount(mp: string, msg: Message): Message {
  return msg.topic.startsWith(mp) ? { ...msg, topic: msg.topic.slice(mp.length), enc0: undefined, enc5: undefined } : msg;
}
