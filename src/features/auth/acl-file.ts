// Mosquitto's acl_file:
//   topic [read|write|readwrite|deny] TOPIC    (no access word = readwrite; TOPIC may hold spaces)
//   user USERNAME                              (the rules below it are that user's)
//   pattern [read|write|readwrite|deny] TOPIC  (every client; %c = client id, %u = username)
// Rules before the first `user` line are for anonymous clients. `#` starts a comment line.
import { topicFilterError } from '../../codec/validate.ts';
import { contentLines } from '../../config/lines.ts';

export const READ = 1;
export const WRITE = 2;

export interface Rule {
  /** The topic split at '/'; a pattern's `%c` / `%u` levels are substituted per client. */
  levels: string[];
  /** READ | WRITE bits; 0 = deny. */
  access: number;
  /** A pattern naming %u: skipped for clients without a username (as in Mosquitto). */
  needsUser: boolean;
}

export interface AclFile {
  /** Rules for clients without a username (the block above the first `user`). */
  anonymous: Rule[] | undefined;
  users: Map<string, Rule[]>;
  patterns: Rule[];
}

const ACCESS: Record<string, number> = { read: READ, write: WRITE, readwrite: READ | WRITE, deny: 0 };

/** Parses an ACL file; throws `file:line: reason` on the first bad line. */
export function parseAclFile(text: string, file: string): AclFile {
  const acl: AclFile = { anonymous: undefined, users: new Map(), patterns: [] };
  let user: string | undefined;
  for (const [n, line] of contentLines(text)) {
    const fail = (why: string): never => {
      throw new Error(`${file}:${n}: ${why}`);
    };
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line) as RegExpExecArray;
    const word = m[1];
    const rest = m[2] ?? '';
    if (word === 'user') {
      if (!rest) fail(`'user' needs a username`);
      user = rest;
      if (!acl.users.has(user)) acl.users.set(user, []);
      continue;
    }
    if (word !== 'topic' && word !== 'pattern') fail(`unknown line '${word}' (expected topic, pattern or user)`);
    if (!rest) fail(`'${word}' needs a topic`);
    const sp = /^(\S+)\s+(.*)$/.exec(rest);
    let access = READ | WRITE;
    let topic = rest;
    if (sp) {
      if (!(sp[1] in ACCESS)) fail(`invalid access '${sp[1]}' (expected read, write, readwrite or deny)`);
      access = ACCESS[sp[1]];
      topic = sp[2];
    }
    if (topicFilterError(topic)) fail(`invalid topic '${topic}'`);
    const rule: Rule = { levels: topic.split('/'), access, needsUser: topic.includes('%u') };
    if (word === 'pattern') acl.patterns.push(rule);
    else if (user === undefined) (acl.anonymous ??= []).push(rule);
    else (acl.users.get(user) as Rule[]).push(rule);
  }
  return acl;
}
