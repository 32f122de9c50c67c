// The compiled ACL of one client, with Mosquitto 2.0's evaluation order:
//   1. the client's own rules (its `user` block, or the anonymous block): a matching `deny` denies;
//      else a matching rule with the access asked for allows;
//   2. patterns (denied outright if the username or client id holds + or #): a matching `deny`
//      denies; else a matching pattern with the access allows;
//   3. otherwise denied.
// Patterns are substituted once per client; decisions are cached per topic (bounded), so the
// publish path pays a Map lookup for a topic it has seen.
import type { Access } from '../../broker/access.ts';
import { READ, WRITE, type AclFile, type Rule } from './acl-file.ts';

/** The loaded ACL of a scope; `gen` changes on reload so clients recompile. */
export interface AclSource {
  acl: AclFile;
  gen: number;
}

interface Compiled {
  levels: string[];
  access: number;
}

const CACHE_MAX = 512;
const KNOWN_R = 4;
const KNOWN_W = 8;

const wild = (l: string): boolean => l === '+' || l === '#';

// One publish checks the same topic for every subscriber in turn: split it once, not per client.
let lastTopic = '';
let lastLevels: string[] = [''];
function levelsOf(topic: string): string[] {
  if (topic !== lastTopic) {
    lastLevels = topic.split('/');
    lastTopic = topic;
  }
  return lastLevels;
}

/** Does `rule` match the topic (split at '/')? `$` topics only match rules that name them. */
function matches(rule: string[], topic: string[]): boolean {
  if (wild(rule[0]) && topic[0].startsWith('$')) return false;
  const n = rule.length;
  for (let i = 0; i < n; i++) {
    const r = rule[i];
    if (r === '#') return true; // also matches the parent level: a/# matches a
    if (i >= topic.length) return false;
    if (r !== '+' && r !== topic[i]) return false;
  }
  return n === topic.length;
}

/** Is there a topic that both filters match? */
function intersects(a: string[], b: string[]): boolean {
  if ((wild(a[0]) && b[0].startsWith('$')) || (wild(b[0]) && a[0].startsWith('$'))) return false;
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#' || y === '#') return true;
    if (x === undefined || y === undefined) return x === y;
    if (x !== '+' && y !== '+' && x !== y) return false;
  }
}

/** Does `rule` match every topic that `filter` matches? */
function covers(rule: string[], filter: string[]): boolean {
  if (wild(rule[0]) && filter[0].startsWith('$')) return false;
  for (let i = 0; ; i++) {
    const r = rule[i];
    const f = filter[i];
    if (r === '#') return true;
    if (r === undefined || f === undefined) return r === f;
    if (f === '#' || (f === '+' && r !== '+') || (r !== '+' && r !== f)) return false;
  }
}

/** The first rule of an ordered list that matches `topic` decides: a deny, or a grant with `want`. */
function firstMatch(rules: Compiled[], topic: string[], want: number): boolean | undefined {
  for (const r of rules) {
    if (matches(r.levels, topic)) {
      if (r.access === 0) return false;
      if (r.access & want) return true;
    }
  }
  return undefined;
}

/** Denies first, then grants: the order Mosquitto checks a list in. */
function ordered(rules: Compiled[]): Compiled[] {
  return [...rules.filter((r) => r.access === 0), ...rules.filter((r) => r.access !== 0)];
}

export class ClientAccess implements Access {
  private gen = -1;
  private own: Compiled[] = [];
  private patterns: Compiled[] = [];
  /** Patterns exist but the client's identity holds a wildcard: the pattern step denies. */
  private dangerous = false;
  /** topic → KNOWN_R|KNOWN_W|READ|WRITE bits. */
  private cache = new Map<string, number>();

  constructor(
    private readonly src: AclSource,
    readonly clientId: string,
    readonly username: string | undefined,
  ) {}

  private compile(): void {
    const acl = this.src.acl;
    this.gen = this.src.gen;
    this.cache.clear();
    const own = this.username === undefined ? acl.anonymous : acl.users.get(this.username);
    this.own = ordered((own ?? []).map((r) => ({ levels: r.levels, access: r.access })));
    const id = this.clientId;
    const user = this.username;
    this.dangerous = acl.patterns.length > 0 && (/[+#]/.test(id) || (user !== undefined && /[+#]/.test(user)));
    const subst = (r: Rule): Compiled => ({
      levels: r.levels.map((l) => (l === '%c' ? id : l === '%u' ? (user as string) : l)),
      access: r.access,
    });
    this.patterns = ordered(acl.patterns.filter((r) => !r.needsUser || (user !== undefined && user !== '')).map(subst));
  }

  /** Mosquitto's decision for one topic and one access bit. */
  private decide(topic: string[], want: number): boolean {
    return firstMatch(this.own, topic, want) ?? (!this.dangerous && firstMatch(this.patterns, topic, want) === true);
  }

  private check(topic: string, want: number, known: number): boolean {
    if (this.gen !== this.src.gen) this.compile();
    let bits = this.cache.get(topic);
    if (bits === undefined || !(bits & known)) {
      if (bits === undefined && this.cache.size >= CACHE_MAX) this.cache.clear();
      bits = (bits ?? 0) | known | (this.decide(levelsOf(topic), want) ? want : 0);
      this.cache.set(topic, bits);
    }
    return (bits & want) !== 0;
  }

  mayRead(topic: string): boolean {
    return this.check(topic, READ, KNOWN_R);
  }

  mayWrite(topic: string): boolean {
    return this.check(topic, WRITE, KNOWN_W);
  }

  /**
   * Refused (SUBACK 0x80) only when no topic the filter matches could be read. Mosquitto 2.0
   * accepts every filter and filters at delivery; Midge does both, and delivery still checks each
   * message, so a filter that is only partly readable is accepted.
   */
  maySubscribe(filter: string): boolean {
    if (this.gen !== this.src.gen) this.compile();
    const f = filter.split('/');
    const scan = (rules: Compiled[]): boolean | undefined => {
      for (const r of rules) {
        if (r.access === 0 && covers(r.levels, f)) return false;
        if (r.access & READ && intersects(r.levels, f)) return true;
      }
      return undefined;
    };
    const own = scan(this.own);
    if (own !== undefined) return own;
    return !this.dangerous && scan(this.patterns) === true;
  }
}
