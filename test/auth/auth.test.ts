// AUTH in a running broker: password_file, acl_file, per_listener_settings and reload (SIGHUP's
// Running.reload()), with byte-exact clients.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import { startServer } from '../../src/server.ts';
import { log } from '../../src/util/log.ts';
import { listener, startBroker, testConfig, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';

let dir: string;
let b: TestBroker;
let pwFile: string;
let aclFile: string;

const ACL = `# anonymous clients
topic read public/#

user admin
topic readwrite #

user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret
topic write wills/alice

user bob
topic read alice/#

pattern readwrite clients/%c/#
pattern read users/%u/inbox
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-auth-'));
  pwFile = join(dir, 'passwd');
  aclFile = join(dir, 'acl');
  writeFileSync(
    pwFile,
    `admin:${hashPassword('root')}\nalice:${hashPassword('wonderland')}\n# a $6$ entry, as Mosquitto 1.x wrote\nbob:${hashPassword('builder', 6)}\n`,
  );
  writeFileSync(aclFile, ACL);
  b = await startBroker({ allowAnonymous: true, passwordFile: pwFile, aclFile });
});
afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

const login = (user: string | undefined, pw: string | undefined, id = `${user ?? 'anon'}-${Math.random().toString(36).slice(2, 8)}`, extra: Record<string, unknown> = {}) =>
  RawClient.session(b.port, id, { ...(user !== undefined ? { username: user } : {}), ...(pw !== undefined ? { password: Buffer.from(pw) } : {}), ...extra });

async function subscribed(user: string, pw: string, filters: string[], id?: string) {
  const { c, connack } = await login(user, pw, id);
  expect(connack.returnCode).toBe(0);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) });
  const suback = await c.next();
  return { c, granted: suback.granted as number[] };
}

/** Publishes QoS 1 and waits for the PUBACK. */
async function pub(c: RawClient, topic: string, payload = 'x', retain = false) {
  c.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: 7, retain });
  const ack = await c.next();
  expect(ack.cmd).toBe('puback');
}

describe('password_file', () => {
  it('accepts a $7$ (PBKDF2) and a $6$ (SHA-512) user with the right password', async () => {
    for (const [u, p] of [['alice', 'wonderland'], ['bob', 'builder']]) {
      const { c, connack } = await login(u, p);
      expect(connack.returnCode).toBe(0);
      c.end();
    }
  });

  it('refuses a wrong password, an unknown user and a missing password with CONNACK 5, logging no password', async () => {
    const logFile = join(dir, 'log');
    log.configure(new Set(['error', 'warning', 'notice', 'information', 'debug']), [{ kind: 'file', path: logFile }]);
    try {
      for (const [u, p] of [['alice', 'wrong-secret'], ['mallory', 'wonderland'], ['alice', undefined]]) {
        const { c, connack } = await login(u, p);
        expect(connack.returnCode, `${u}/${p}`).toBe(5);
        expect(await c.closesWithin()).toBe(true);
      }
    } finally {
      log.configure(new Set(process.env.MIDGE_TEST_LOG ? ['error', 'warning', 'notice', 'information', 'debug'] : ['error']), [{ kind: 'stderr' }]);
    }
    const text = readFileSync(logFile, 'utf8');
    expect(text).toContain(`bad username or password for 'alice'`);
    expect(text).toContain(`bad username or password for 'mallory'`);
    expect(text).not.toContain('wrong-secret');
    expect(text).not.toContain('wonderland');
  });

  it('a verified password is cached, and a right one after a wrong one still works', async () => {
    for (const p of ['wonderland', 'nope', 'wonderland']) {
      const { c, connack } = await login('alice', p);
      expect(connack.returnCode).toBe(p === 'nope' ? 5 : 0);
      c.end();
    }
  });
});

describe('acl_file', () => {
  it('a publish to a denied topic is acknowledged and dropped (3.1.1, as Mosquitto)', async () => {
    const { c: admin } = await subscribed('admin', 'root', ['#']);
    const { c: alice } = await login('alice', 'wonderland');
    await pub(alice, 'forbidden/x');
    await pub(alice, 'shared/x'); // read-only for alice: dropped too
    await pub(alice, 'alice/ok');
    const m = await admin.next();
    expect(m.topic).toBe('alice/ok');
    alice.end();
    admin.end();
  });

  it('[MQTT-3.9.3-2] a filter no readable topic matches gets SUBACK 0x80; partly readable ones are granted', async () => {
    const { c, granted } = await subscribed('alice', 'wonderland', ['alice/#', 'secret/#', 'shared/secret', 'shared/+', '#', 'users/alice/inbox', 'users/bob/inbox']);
    expect(granted).toEqual([1, 0x80, 0x80, 1, 1, 1, 0x80]);
    c.end();
  });

  it('the read rule applies at delivery: a granted wildcard does not leak denied topics', async () => {
    const { c: alice } = await subscribed('alice', 'wonderland', ['shared/+']);
    const { c: admin } = await login('admin', 'root');
    await pub(admin, 'shared/secret');
    await pub(admin, 'shared/open');
    expect((await alice.next()).topic).toBe('shared/open');
    alice.end();
    admin.end();
  });

  it('[MQTT-3.3.1-6] retained messages are sent on subscribe only where the subscriber may read', async () => {
    const { c: admin } = await login('admin', 'root');
    await pub(admin, 'shared/secret', 'r1', true);
    await pub(admin, 'shared/open', 'r2', true);
    const { c: alice } = await subscribed('alice', 'wonderland', ['shared/#']);
    const first = await alice.next();
    expect([first.topic, first.retain]).toEqual(['shared/open', true]);
    await pub(admin, 'shared/marker');
    expect((await alice.next()).topic).toBe('shared/marker');
    await pub(admin, 'shared/secret', '', true);
    await pub(admin, 'shared/open', '', true);
    alice.end();
    admin.end();
  });

  it('a will is published only if its client may write the topic', async () => {
    const { c: admin } = await subscribed('admin', 'root', ['wills/#', 'alice/#']);
    const will = (topic: string) => ({ will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
    const { c: bad } = await login('alice', 'wonderland', 'will-denied', will('wills/bob'));
    bad.socket.destroy();
    await bad.closed;
    const { c: good } = await login('alice', 'wonderland', 'will-allowed', will('wills/alice'));
    good.socket.destroy();
    expect((await admin.next()).topic).toBe('wills/alice');
    admin.end();
  });

  it('anonymous clients get the block above the first user line; patterns substitute %c and %u', async () => {
    const { c: admin } = await subscribed('admin', 'root', ['clients/#', 'public/#', 'users/#']);
    const { c: anon, connack } = await login(undefined, undefined, 'dev1');
    expect(connack.returnCode).toBe(0);
    await pub(anon, 'public/x'); // read-only for anonymous clients
    await pub(anon, 'clients/dev2/t'); // someone else's %c
    await pub(anon, 'clients/dev1/t');
    expect((await admin.next()).topic).toBe('clients/dev1/t');
    anon.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'public/#', qos: 0 }, { topic: 'users/+/inbox', qos: 0 }] });
    // %u patterns are skipped for clients without a username.
    expect((await anon.next()).granted).toEqual([0, 0x80]);
    const { c: alice } = await subscribed('alice', 'wonderland', ['users/+/inbox']);
    const { c: sender } = await login('admin', 'root');
    await pub(sender, 'users/bob/inbox');
    await pub(sender, 'users/alice/inbox');
    expect((await alice.next()).topic).toBe('users/alice/inbox');
    for (const c of [admin, anon, alice, sender]) c.end();
  });
});

describe('reload', () => {
  it('re-reads the ACL for connected clients; a broken file keeps the previous rules', async () => {
    const { c: admin } = await subscribed('admin', 'root', ['new/#', 'alice/#']);
    const { c: alice } = await login('alice', 'wonderland');
    await pub(alice, 'new/1'); // denied now
    writeFileSync(aclFile, `${ACL}\nuser alice\ntopic write new/#\n`);
    await b.running.reload();
    await pub(alice, 'new/2');
    expect((await admin.next()).topic).toBe('new/2');
    writeFileSync(aclFile, `user alice\ntopic sometimes new/#\n`);
    await b.running.reload(); // logs the error, keeps the rules
    await pub(alice, 'new/3');
    expect((await admin.next()).topic).toBe('new/3');
    writeFileSync(aclFile, ACL);
    await b.running.reload();
    await pub(alice, 'new/4');
    await pub(alice, 'alice/marker');
    expect((await admin.next()).topic).toBe('alice/marker');
    alice.end();
    admin.end();
  });

  it('re-reads the password file: the cache of verified passwords goes with the old file', async () => {
    const before = readFileSync(pwFile, 'utf8');
    (await login('alice', 'wonderland')).c.end(); // cached
    writeFileSync(pwFile, before.replace(/^alice:.*$/m, `alice:${hashPassword('looking-glass')}`));
    await b.running.reload();
    expect((await login('alice', 'wonderland')).connack.returnCode).toBe(5);
    expect((await login('alice', 'looking-glass')).connack.returnCode).toBe(0);
    writeFileSync(pwFile, 'alice:plain-text\n');
    await b.running.reload(); // broken: kept
    expect((await login('alice', 'looking-glass')).connack.returnCode).toBe(0);
    writeFileSync(pwFile, before);
    await b.running.reload();
  });
});

describe('per_listener_settings', () => {
  it('each listener has its own password file, ACL and allow_anonymous', async () => {
    const open = listener({ allowAnonymous: true });
    const locked = listener({ allowAnonymous: false, passwordFile: pwFile, aclFile });
    const r = await startServer(testConfig({ perListenerSettings: true, listeners: [open, locked] }));
    try {
      const [p1, p2] = r.addresses.map((a) => a.port);
      const anon1 = await RawClient.session(p1, 'a1');
      expect(anon1.connack.returnCode).toBe(0);
      // No ACL on the open listener: anything goes, even subscribing to everything.
      anon1.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
      expect((await anon1.c.next()).granted).toEqual([0]);
      // Any username is accepted where no password file is set.
      expect((await RawClient.session(p1, 'a2', { username: 'whoever', password: Buffer.from('x') })).connack.returnCode).toBe(0);
      expect((await RawClient.session(p2, 'a3')).connack.returnCode).toBe(5);
      expect((await RawClient.session(p2, 'a4', { username: 'whoever', password: Buffer.from('x') })).connack.returnCode).toBe(5);
      const alice = await RawClient.session(p2, 'a5', { username: 'alice', password: Buffer.from('wonderland') });
      expect(alice.connack.returnCode).toBe(0);
      alice.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret/#', qos: 0 }] });
      expect((await alice.c.next()).granted).toEqual([0x80]);
      anon1.c.end();
      alice.c.end();
    } finally {
      await r.close();
    }
  });

  it('a missing file stops start-up', async () => {
    await expect(startServer(testConfig({ passwordFile: join(dir, 'absent') }))).rejects.toThrow(/cannot read password_file/);
    writeFileSync(join(dir, 'bad-acl'), 'topic readwrite a/#/b\n');
    await expect(startServer(testConfig({ aclFile: join(dir, 'bad-acl') }))).rejects.toThrow(/bad-acl:1: invalid topic/);
  });
});
