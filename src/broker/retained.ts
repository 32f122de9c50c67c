import { makeMessage, type Message } from './message.ts';
import { topicMatches } from './topic-tree.ts';
import type { Access } from './access.ts';

/** Retained messages by topic name: the last one published with RETAIN on each topic. */
export class RetainedStore {
  private readonly byTopic = new Map<string, Message>();
  /** Payload and topic bytes held (memory_limit). */
  bytes = 0;

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Store, replace, or (empty payload, [MQTT-3.3.1-10]) delete the retained message of a topic.
   * `source`: AUTH, its publisher's access (check_retain_source).
   */
  set(msg: Message, source?: Access): void {
    const old = this.byTopic.get(msg.topic);
    if (old) this.bytes -= old.topic.length + old.payload.length;
    if (msg.payload.length === 0) this.byTopic.delete(msg.topic);
    else {
      this.bytes += msg.topic.length + msg.payload.length;
      // Copy: a received payload is a slice of a socket chunk, which must not stay pinned for ever.
      const m = makeMessage(msg.topic, Buffer.from(msg.payload), msg.qos, true);
      // MQTT5: its properties stay with it, and so does its expiry.
      if (MQTT5 && msg.properties) {
        m.properties = msg.properties;
        if (msg.expiresAt !== undefined) m.expiresAt = msg.expiresAt;
      }
      if (AUTH && source) m.source = source;
      this.byTopic.set(msg.topic, m);
    }
  }

  /** Retained messages matching a filter, for a new subscription. */
  *matching(filter: string): Iterable<Message> {
    // A filter without wildcards names exactly one topic.
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.byTopic.get(filter);
      if (m) yield m;
      return;
    }
    for (const m of this.byTopic.values()) if (topicMatches(filter, m.topic)) yield m;
  }
}
