// Differential ACL test: the same password and ACL files in Debian's mosquitto and in Midge, and
// the same allow/deny outcome over users × operations × topics. Mosquitto 2.0 never refuses a
// SUBSCRIBE for acl_file reasons (it filters at delivery), so "read" compares what is delivered.
//
// One connection per user per broker. Each wait ends on an event, never a sleep: QoS 1 publishes
// are awaited through their PUBACK (both brokers queue the deliveries before acknowledging), then
// the receiver sends PINGREQ, and its PINGRESP comes after everything queued for it before.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import { startBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll } from '../helpers/proc.ts';
import { RawClient } from '../helpers/raw.ts';
import { sharedDir, startMosquitto, writeShared } from './mosquitto.ts';

const peers = requirePeer('mosquitto');

const ACL = `# anonymous clients
topic read public/#
topic readwrite anon/+/data

user alice
topic readwrite home/alice/#
topic read home/+/status
topic deny home/bob/status
topic write cmd/#
topic read sensors/+/temp

user bob
topic readwrite home/bob/#
topic read #
topic deny home/alice/#
topic write sensors/bob/#
topic readwrite

user carol
topic read sensors/#
topic deny sensors/secret/#
topic write public/carol
topic misc

user root
topic readwrite #

pattern readwrite devices/%c/#
pattern read inbox/%u
pattern write outbox/%u/+
pattern deny devices/%c/locked
`;

/** The users under test: [username or undefined for anonymous, client id]. dave has no ACL block. */
const USERS: [string | undefined, string][] = [
  [undefined, 'anon1'],
  ['alice', 'c-alice'],
  ['bob', 'c-bob'],
  ['carol', 'c-carol'],
  ['dave', 'c-dave'],
];

const TOPICS = [
  'public/news', 'public/carol', 'anon/x/data', 'anon/x/y/data', 'home/alice/light', 'home/alice/status',
  'home/bob/status', 'home/bob/door', 'home/carol/status', 'cmd/reboot', 'cmd/a/b', 'sensors/bob/temp',
  'sensors/alice/temp', 'sensors/secret/key', 'sensors/x/humidity', 'devices/anon1/led', 'devices/c-alice/led',
  'devices/c-alice/locked', 'devices/c-bob/x', 'inbox/alice', 'inbox/bob', 'outbox/carol/1', 'outbox/dave/1',
  'outbox/alice/1/2', 'misc', 'home', 'readwrite',
];

const pw = (u: string): string => `${u}-secret`;

let dir: string;
beforeAll(() => {
  dir = sharedDir('midge-acl-diff-');
  const users = ['alice', 'bob', 'carol', 'dave', 'root'];
  writeShared(join(dir, 'passwd'), users.map((u) => `${u}:${hashPassword(pw(u))}\n`).join(''));
  writeShared(join(dir, 'acl'), ACL);
});
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function connect(port: number, user: string | undefined, id: string): Promise<RawClient> {
  const { c, connack } = await RawClient.session(port, id, user ? { username: user, password: Buffer.from(pw(user)) } : {});
  expect(connack.returnCode, `${user ?? 'anonymous'} connects`).toBe(0);
  return c;
}

/** Publishes QoS 1 messages one by one, each awaited through its PUBACK. */
async function publishAll(c: RawClient, topics: string[], tag: string): Promise<void> {
  for (let i = 0; i < topics.length; i++) {
    c.send({ cmd: 'publish', topic: topics[i], payload: Buffer.from(`${tag}|${topics[i]}`), qos: 1, messageId: i + 1 });
    const ack = await c.next(5000);
    expect(ack.cmd, `PUBACK for ${topics[i]}`).toBe('puback');
  }
}

/** Everything delivered to `c` so far: PINGREQ, then the PUBLISH packets before PINGRESP. */
async function delivered(c: RawClient): Promise<string[]> {
  c.send({ cmd: 'pingreq' });
  const got: string[] = [];
  for (;;) {
    const p = await c.next(5000);
    if (p.cmd === 'pingresp') return got;
    if (p.cmd === 'publish') got.push(p.payload.toString());
  }
}

/** Runs the matrix against a broker on `port`; returns "user op topic" → allowed. */
async function matrix(port: number): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  const root = await connect(port, 'root', 'c-root');
  const clients = await Promise.all(USERS.map(([u, id]) => connect(port, u, id)));
  // read: every user subscribes to '#', root publishes each topic once.
  for (const c of clients) {
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
    expect((await c.next()).cmd).toBe('suback');
  }
  await publishAll(root, TOPICS, 'root');
  for (let i = 0; i < USERS.length; i++) {
    const got = new Set(await delivered(clients[i]));
    for (const t of TOPICS) out.set(`${USERS[i][0] ?? 'anonymous'} read ${t}`, got.has(`root|${t}`));
    clients[i].send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['#'] });
    expect((await clients[i].next()).cmd).toBe('unsuback');
  }
  // write: root subscribes to '#', every user publishes each topic once.
  root.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
  expect((await root.next()).cmd).toBe('suback');
  await Promise.all(USERS.map(([u], i) => publishAll(clients[i], TOPICS, u ?? 'anonymous')));
  const seen = new Set(await delivered(root));
  for (const [u] of USERS) {
    for (const t of TOPICS) out.set(`${u ?? 'anonymous'} write ${t}`, seen.has(`${u ?? 'anonymous'}|${t}`));
  }
  for (const c of [root, ...clients]) c.end();
  return out;
}

describe.skipIf(!peers)('ACL: Midge decides as Debian mosquitto does', () => {
  it('same allow/deny over users × {publish, subscribe→delivery} × topics (270 cases)', async () => {
    const files = [`password_file ${join(dir, 'passwd')}`, `acl_file ${join(dir, 'acl')}`, 'allow_anonymous true'];
    const m = await startMosquitto(dir, files);
    const theirs = await matrix(m.port);
    m.proc.kill();
    const b = await startBroker({ allowAnonymous: true, passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl') });
    const ours = await matrix(b.port).finally(() => b.close());

    expect(ours.size).toBe(USERS.length * TOPICS.length * 2);
    expect(ours.size).toBeGreaterThanOrEqual(200);
    const allowed = [...theirs.values()].filter(Boolean).length;
    // The matrix is not trivially all-allow or all-deny.
    expect(allowed).toBeGreaterThan(30);
    expect(theirs.size - allowed).toBeGreaterThan(30);
    // Spot checks, so that a broken harness (nothing delivered anywhere) cannot pass.
    expect(theirs.get('alice write cmd/reboot')).toBe(true);
    expect(theirs.get('bob read home/alice/light')).toBe(false);
    expect(theirs.get('bob read home/carol/status')).toBe(true);
    expect(theirs.get('anonymous read public/news')).toBe(true);
    expect(theirs.get('anonymous write devices/anon1/led')).toBe(true);
    expect(theirs.get('alice write devices/c-alice/locked')).toBe(false);
    expect(theirs.get('dave read public/news')).toBe(false);
    const differences = [...theirs].filter(([k, v]) => ours.get(k) !== v).map(([k, v]) => `${k}: mosquitto ${v ? 'allows' : 'denies'}`);
    expect(differences).toEqual([]);
  });
});
