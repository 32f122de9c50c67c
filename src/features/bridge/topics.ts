// Bridge topic mapping: which `topic` line a message matches, and its name on the other side.
import type { BridgeTopic } from '../../config/types.ts';

/** MQTT topic matching (3.1.1 §4.7); wildcards at the start do not match `$` topics [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 0x24 && (filter[0] === '+' || filter[0] === '#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/**
 * The topic on the other side for a message on `topic`, or undefined when no line of the right
 * direction matches. `inbound`: from the remote (in/both lines), else to it (out/both lines).
 */
export function remap(topics: readonly BridgeTopic[], topic: string, inbound: boolean): string | undefined {
  for (const t of topics) {
    if (t.direction === (inbound ? 'out' : 'in')) continue;
    const from = inbound ? t.remotePrefix : t.localPrefix;
    const to = inbound ? t.localPrefix : t.remotePrefix;
    if (topicMatches(from + t.pattern, topic)) return to + topic.slice(from.length);
  }
  return undefined;
}
