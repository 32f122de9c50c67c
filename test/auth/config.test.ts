// AUTH's config options, its file parsers, and the ACL matcher's corner cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { ClientAccess } from '../../src/features/auth/acl.ts';
import { parseAclFile } from '../../src/features/auth/acl-file.ts';
import { digest, hashPassword, parseHash, parsePasswordFile, PasswordDb } from '../../src/features/auth/password-file.ts';
import { importWithFlags } from '../helpers/bundled.ts';

const F = '/etc/midge.conf';

describe('config options', () => {
  it('password_file and acl_file are global by default; paths may hold spaces', () => {
    const c = parseConfigText('listener 1883\npassword_file /etc/my dir/passwd\nlistener 1884\nacl_file /etc/acl\n', F);
    expect([c.passwordFile, c.aclFile, c.perListenerSettings]).toEqual(['/etc/my dir/passwd', '/etc/acl', undefined]);
    expect(c.listeners.map((l) => [l.passwordFile, l.aclFile, l.allowAnonymous])).toEqual([[undefined, undefined, undefined], [undefined, undefined, undefined]]);
  });

  it('per_listener_settings true: the options belong to the listener above them, wherever it is declared', () => {
    const c = parseConfigText(
      'listener 1883\npassword_file /p1\nallow_anonymous true\nlistener 1884\nacl_file /a2\nper_listener_settings true\n',
      F,
    );
    expect([c.passwordFile, c.aclFile, c.perListenerSettings]).toEqual([undefined, undefined, true]);
    expect(c.listeners.map((l) => [l.port, l.passwordFile, l.aclFile, l.allowAnonymous])).toEqual([
      [1883, '/p1', undefined, true],
      [1884, undefined, '/a2', false],
    ]);
  });

  it('per_listener_settings true: options before any listener go to the default listener, which must exist', () => {
    const c = parseConfigText('per_listener_settings true\npassword_file /p0\nport 1885\nlistener 1883\n', F);
    expect(c.listeners.map((l) => [l.port, l.passwordFile])).toEqual([[1883, undefined], [1885, '/p0']]);
    expect(() => parseConfigText('per_listener_settings true\nacl_file /a\nlistener 1883\n', F)).toThrow(
      `${F}:2: with per_listener_settings true, option 'acl_file' comes before any 'listener' line, so it belongs to the default listener`,
    );
    // Local-only mode: the loopback listeners are the default listener; anonymous allowed by default.
    const local = parseConfigText('per_listener_settings true\npassword_file /p\n', F);
    expect(local.listeners.map((l) => [l.host, l.passwordFile, l.allowAnonymous])).toEqual([['127.0.0.1', '/p', true], ['::1', '/p', true]]);
  });

  it('rejects bad values with file:line:', () => {
    expect(() => parseConfigText('password_file', F)).toThrow(`${F}:1: option 'password_file' needs a file name`);
    expect(() => parseConfigText('\nper_listener_settings maybe', F)).toThrow(`${F}:2: option 'per_listener_settings' needs true or false, got 'maybe'`);
  });
});

describe('with AUTH compiled out', () => {
  type ParseModule = typeof import('../../src/config/parse.ts');
  let noAuth: ParseModule;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-noauth-'));
    noAuth = await importWithFlags<ParseModule>(new URL('../helpers/parse-entry.ts', import.meta.url), [], dir);
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const o of ['password_file /p', 'acl_file /a', 'scram_credentials_file /s', 'per_listener_settings true', 'plugin_opt_foo bar']) {
    it(`${o.split(' ')[0]} names the feature and its profile`, () => {
      expect(() => noAuth.parseConfigText(`listener 1883\n${o}`, F)).toThrow(
        `${F}:2: option '${o.split(' ')[0]}' needs feature AUTH, which is not built into this bundle; build profile 'router' or 'full' (npm run build -- --profile router)`,
      );
    });
  }

  it('allow_anonymous stays a core option', () => {
    expect(noAuth.parseConfigText('listener 1883\nallow_anonymous true\n', F).allowAnonymous).toBe(true);
  });
});

describe('password file format', () => {
  it('reads $7$ with its iteration count and $6$; digests match what was hashed', () => {
    for (const [kind, it] of [[7, 101], [7, 1000], [6, 1]] as const) {
      const h = hashPassword('pw', kind, it);
      const e = parseHash(h);
      if (typeof e === 'string') throw new Error(e);
      expect([e.kind, e.iterations, e.salt.length, e.hash.length]).toEqual([kind, it, 12, 64]);
      expect(digest(e, 'pw').equals(e.hash)).toBe(true);
      expect(digest(e, 'pW').equals(e.hash)).toBe(false);
    }
  });

  it('a bad line is an error naming file and line; comments and blank lines are skipped', () => {
    const ok = `# users\n\nalice:${hashPassword('a')}\n`;
    expect([...parsePasswordFile(ok, 'pw').keys()]).toEqual(['alice']);
    const bad: [string, RegExp][] = [
      ['bob:plain', /pw:1: user 'bob': password is not a \$6\$ or \$7\$ hash/],
      ['bob:$7$0$AAAA$AAAA', /invalid iteration count '0'/],
      ['bob:$7$101$AAAA$AAAA', /hash is 3 bytes, expected 64/],
      ['bob:$6$AA*A$AAAA', /not base64/],
      [':$6$AAAA$AAAA', /empty username/],
      ['just-a-name', /pw:1: line without 'username:'/],
    ];
    for (const [line, why] of bad) expect(() => parsePasswordFile(line, 'pw'), line).toThrow(why);
  });

  it('PasswordDb refuses unknown users and missing passwords', () => {
    const db = new PasswordDb(parsePasswordFile(`alice:${hashPassword('a')}\n`, 'pw'));
    expect(db.check('alice', Buffer.from('a'))).toBe(true);
    expect(db.check('alice', Buffer.from('a'))).toBe(true); // from the cache
    expect(db.check('alice', Buffer.from('b'))).toBe(false);
    expect(db.check('alice', undefined)).toBe(false);
    expect(db.check('bob', Buffer.from('a'))).toBe(false);
  });
});

describe('ACL file and matcher', () => {
  const access = (text: string, id: string, user?: string) => new ClientAccess({ acl: parseAclFile(text, 'acl'), gen: 0 }, id, user);

  it('parses Mosquitto lines and reports the bad ones', () => {
    const acl = parseAclFile('topic read a/#\n# c\nuser u one\ntopic read b b\ntopic e\ntopic deny c\npattern write d/%c\n', 'acl');
    expect(acl.anonymous?.map((r) => [r.levels.join('/'), r.access])).toEqual([['a/#', 1]]);
    // A username runs to the end of the line; a topic may hold spaces; no access word = readwrite.
    expect(acl.users.get('u one')?.map((r) => [r.levels.join('/'), r.access])).toEqual([['b b', 1], ['e', 3], ['c', 0]]);
    expect(acl.patterns.map((r) => [r.levels.join('/'), r.access])).toEqual([['d/%c', 2]]);
    expect(() => parseAclFile('topic read\ntopic sometimes x', 'acl')).toThrow(`acl:2: invalid access 'sometimes'`);
    expect(() => parseAclFile('user', 'acl')).toThrow(`acl:1: 'user' needs a username`);
    expect(() => parseAclFile('\nsubscribe x', 'acl')).toThrow(`acl:2: unknown line 'subscribe'`);
    expect(() => parseAclFile('topic read a#', 'acl')).toThrow(`acl:1: invalid topic 'a#'`);
  });

  it('# matches the parent level; wildcards do not reach $ topics unless the rule names them', () => {
    const a = access('topic read a/#\ntopic read #\ntopic read $SYS/x/+\n', 'c');
    expect([a.mayRead('a'), a.mayRead('a/b/c'), a.mayRead('$SYS/broker'), a.mayRead('$SYS/x/y'), a.mayWrite('a')]).toEqual([true, true, false, true, false]);
  });

  it('a client id or username with + or # gets nothing from patterns', () => {
    const text = 'pattern readwrite c/%c/#\npattern readwrite u/%u\n';
    expect(access(text, 'dev').mayWrite('c/dev/x')).toBe(true);
    expect(access(text, 'de+v').mayWrite('c/x/x')).toBe(false);
    expect(access(text, 'dev', 'bad#').mayWrite('c/dev/x')).toBe(false);
    expect(access(text, 'dev', 'ann').mayRead('u/ann')).toBe(true);
  });

  it('subscribing: refused only when no readable topic can match the filter', () => {
    const a = access('topic read s/+/t\ntopic read x/#\ntopic deny x/secret/#\ntopic write w/#\n', 'c');
    const cases: [string, boolean][] = [
      ['s/+/t', true], ['s/#', true], ['#', true], ['+/a/t', true], ['s/a/u', false], ['s/a/t/u', false],
      ['x', true], ['x/secret/#', false], ['x/secret/a', false], ['x/+', true], ['w/#', false], ['$SYS/#', false],
    ];
    expect(cases.map(([f]) => [f, a.maySubscribe(f)])).toEqual(cases);
  });

  it('a reload (gen change) recompiles; the decision cache stays bounded', () => {
    const src = { acl: parseAclFile('topic read a/#\n', 'acl'), gen: 0 };
    const a = new ClientAccess(src, 'c', undefined);
    for (let i = 0; i < 2000; i++) expect(a.mayRead(`a/${i}`)).toBe(true);
    expect((a as unknown as { cache: Map<string, number> }).cache.size).toBeLessThanOrEqual(512);
    src.acl = parseAclFile('topic read b/#\n', 'acl');
    src.gen++;
    expect([a.mayRead('a/1'), a.mayRead('b/1')]).toEqual([false, true]);
  });
});
