// Subscriptions in a trie of topic levels. Matching walks the levels of one topic name once,
// visiting only the branches that can match ('+', '#', the literal level), so its cost grows with
// topic depth, not with the number of subscriptions.
import type { QoS } from '../codec/packets.ts';
import { collect5, type Match5 } from './sub-options.ts';

export interface Subscriber {
  /** Scratch fields used by match() to collapse overlapping subscriptions into one delivery. */
  matchGen: number;
  matchQos: QoS;
  /** MQTT5: what subscriptions with options add to the match (broker/sub-options.ts). */
  m5?: Match5;
}

class Node<S> {
  children = new Map<string, Node<S>>();
  /** Subscriber → options: the QoS, or with MQTT 5 options a larger number (sub-options.ts). */
  subs: Map<S, number> | null = null;
}

export class TopicTree<S extends Subscriber> {
  private root = new Node<S>();
  /** Generation of the last match(); a Match5 of this generation belongs to it. */
  gen = 0;
  /** MQTT5: the publishing session of the current match (No Local). */
  private declare self: unknown;
  /** Number of (subscriber, filter) pairs. */
  count = 0;

  /** Adds or replaces; returns true when the subscriber already had this filter. */
  add(filter: string, sub: S, qos: number): boolean {
    let node = this.root;
    for (const level of filter.split('/')) {
      let next = node.children.get(level);
      if (!next) node.children.set(level, (next = new Node<S>()));
      node = next;
    }
    if (!node.subs) node.subs = new Map();
    const existed = node.subs.has(sub);
    node.subs.set(sub, qos);
    if (!existed) this.count++;
    return existed;
  }

  remove(filter: string, sub: S): boolean {
    const levels = filter.split('/');
    const path: Node<S>[] = [this.root];
    let node = this.root;
    for (const level of levels) {
      const next = node.children.get(level);
      if (!next) return false;
      path.push(next);
      node = next;
    }
    if (!node.subs || !node.subs.delete(sub)) return false;
    this.count--;
    if (node.subs.size === 0) node.subs = null;
    // Prune empty branches so a churn of unique topics does not leak nodes.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i];
      if (n.subs || n.children.size) break;
      path[i - 1].children.delete(levels[i - 1]);
    }
    return true;
  }

  /**
   * Every subscriber whose filters match `topic`, each once, with `matchQos` set to the highest
   * QoS among its matching subscriptions. `self`: the publisher's session (No Local).
   */
  match(topic: string, self?: S): S[] {
    const out: S[] = [];
    const gen = ++this.gen;
    if (MQTT5) this.self = self;
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
    this.walk(this.root, levels, 0, gen, out, topic.charCodeAt(0) === 36);
    return out;
  }

  private walk(node: Node<S>, levels: string[], i: number, gen: number, out: S[], dollar: boolean): void {
    if (!dollar) {
      const hash = node.children.get('#');
      if (hash) this.collect(hash, gen, out); // '#' also matches the parent level itself
    }
    if (i === levels.length) {
      this.collect(node, gen, out);
      return;
    }
    const exact = node.children.get(levels[i]);
    if (exact) this.walk(exact, levels, i + 1, gen, out, false);
    if (!dollar) {
      const plus = node.children.get('+');
      if (plus) this.walk(plus, levels, i + 1, gen, out, false);
    }
  }

  private collect(node: Node<S>, gen: number, out: S[]): void {
    if (!node.subs) return;
    for (const [s, qos] of node.subs) {
      if (MQTT5 && qos > 2) collect5(s, qos, gen, out, this.self);
      else if (s.matchGen !== gen) {
        s.matchGen = gen;
        s.matchQos = qos as QoS;
        out.push(s);
      } else if (qos > s.matchQos) {
        s.matchQos = qos as QoS;
      }
    }
  }
}

/**
 * True when `filter` matches `topic` (used for retained messages on subscribe). Walks both strings
 * once without splitting them: a '#' subscriber may test every retained topic.
 */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
  if (topic.charCodeAt(0) === 36 && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35)) return false;
  const fl = filter.length;
  const tl = topic.length;
  let f = 0;
  let t = 0;
  for (;;) {
    // At the start of a level in both strings.
    const c = filter.charCodeAt(f);
    if (c === 35 && f === fl - 1) return true; // '#' matches this level and all below
    let fEnd = filter.indexOf('/', f);
    if (fEnd === -1) fEnd = fl;
    let tEnd = topic.indexOf('/', t);
    if (tEnd === -1) tEnd = tl;
    if (!(c === 43 && fEnd === f + 1)) {
      const len = fEnd - f;
      if (len !== tEnd - t) return false;
      for (let i = 0; i < len; i++) if (filter.charCodeAt(f + i) !== topic.charCodeAt(t + i)) return false;
    }
    const fDone = fEnd === fl;
    const tDone = tEnd === tl;
    if (fDone || tDone) {
      if (fDone && tDone) return true;
      // 'a/#' matches 'a': the filter's remaining level is exactly '#'.
      return tDone && fEnd + 2 === fl && filter.charCodeAt(fEnd + 1) === 35;
    }
    f = fEnd + 1;
    t = tEnd + 1;
  }
}
