import { describe, expect, it } from 'vitest';
import { TopicTree, topicMatches } from '../../src/broker/topic-tree.ts';

const sub = (name: string) => ({ name, matchGen: 0, matchQos: 0 as 0 | 1 | 2 });

describe('topic tree (MQTT 3.1.1 §4.7)', () => {
  const cases: [string, string, boolean][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true], // [MQTT-4.7.1-2] '#' includes the parent
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/tranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/B', false],
    ['#', '$SYS/broker/uptime', false], // [MQTT-4.7.2-1]
    ['+/monitor/Clients', '$SYS/monitor/Clients', false], // [MQTT-4.7.2-1]
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ];
  for (const [filter, topic, expected] of cases) {
    it(`[MQTT-4.7.1] '${filter}' ${expected ? 'matches' : 'does not match'} '${topic}'`, () => {
      const tree = new TopicTree<ReturnType<typeof sub>>();
      const s = sub('x');
      tree.add(filter, s, 1);
      expect(tree.match(topic).length).toBe(expected ? 1 : 0);
      expect(topicMatches(filter, topic)).toBe(expected);
    });
  }

  it('[MQTT-3.3.5-1] overlapping subscriptions give one match at the highest QoS', () => {
    const tree = new TopicTree<ReturnType<typeof sub>>();
    const a = sub('a');
    const b = sub('b');
    tree.add('a/#', a, 0);
    tree.add('a/+', a, 2);
    tree.add('a/b', a, 1);
    tree.add('#', b, 1);
    const out = tree.match('a/b');
    expect(out.map((s) => s.name).sort()).toEqual(['a', 'b']);
    expect(a.matchQos).toBe(2);
    expect(b.matchQos).toBe(1);
  });

  it('replaces, removes, counts and prunes', () => {
    const tree = new TopicTree<ReturnType<typeof sub>>();
    const a = sub('a');
    expect(tree.add('x/y', a, 0)).toBe(false);
    expect(tree.add('x/y', a, 2)).toBe(true);
    expect(tree.count).toBe(1);
    tree.match('x/y');
    expect(a.matchQos).toBe(2);
    expect(tree.remove('x/y', a)).toBe(true);
    expect(tree.remove('x/y', a)).toBe(false);
    expect(tree.count).toBe(0);
    expect(tree.match('x/y')).toEqual([]);
    // pruned: internal root has no children left
    expect((tree as any).root.children.size).toBe(0);
  });

  it('topicMatches agrees with the trie on random filters and topics', () => {
    // A small alphabet makes collisions, empty levels and '$' topics common.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const level = () => ['a', 'b', '', 'ab', '$x'][rnd(5)];
    const topic = () => Array.from({ length: 1 + rnd(4) }, level).join('/');
    const filter = () => {
      const n = 1 + rnd(4);
      const parts = Array.from({ length: n }, () => (rnd(4) === 0 ? '+' : level()));
      if (rnd(3) === 0) parts[n - 1] = '#';
      return parts.join('/');
    };
    for (let i = 0; i < 5000; i++) {
      const f = filter();
      const t = topic();
      const tree = new TopicTree<ReturnType<typeof sub>>();
      tree.add(f, sub('s'), 0);
      expect(topicMatches(f, t), `${f} vs ${t}`).toBe(tree.match(t).length === 1);
    }
  });
});
