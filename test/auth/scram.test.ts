// MQTT 5 enhanced authentication with SCRAM-SHA-256 (RFC 5802, RFC 7677): the server side against
// RFC 7677's test vector and against an independent client written here from the RFC, the
// credentials file, `midge passwd --scram`, and the scram_credentials_file option.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import type { IAuthPacket } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import type { AuthExchange, AuthStep } from '../../src/broker/access.ts';
import { runPasswd } from '../../src/features/auth/passwd.ts';
import { ScramExchange, type ScramDb } from '../../src/features/auth/scram.ts';
import { parseScramFile, scramEntry, scramKeys } from '../../src/features/auth/scram-file.ts';
import { startServer } from '../../src/server.ts';
import { listener, startBroker, testConfig, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';

// ---- An independent SCRAM-SHA-256 client (RFC 5802 §3, §7), sharing no code with the broker ----

const b64 = (b: Buffer): string => b.toString('base64');
const mac = (key: Buffer, s: string): Buffer => createHmac('sha256', key).update(s).digest();
const H = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

class ScramClient {
  readonly bare: string;
  private expected = '';

  constructor(
    user: string,
    private readonly password: string,
    readonly nonce = b64(randomBytes(12)),
    /** The GS2 header: 'n,,' (no channel binding) or 'y,,' (supported here, not by the server). */
    private readonly gs2 = 'n,,',
  ) {
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  }

  first(): string {
    return `${this.gs2}${this.bare}`;
  }

  /** client-final-message for server-first-message `sf`; remembers the server signature to expect. */
  final(sf: string): string {
    const a = Object.fromEntries(sf.split(',').map((kv) => [kv[0], kv.slice(2)]));
    if (!a.r.startsWith(this.nonce) || a.r === this.nonce) throw new Error(`bad server nonce in ${sf}`);
    const salted = pbkdf2Sync(this.password, Buffer.from(a.s, 'base64'), Number(a.i), 32, 'sha256');
    const clientKey = mac(salted, 'Client Key');
    const withoutProof = `c=${b64(Buffer.from(this.gs2))},r=${a.r}`;
    const authMessage = `${this.bare},${sf},${withoutProof}`;
    const sig = mac(H(clientKey), authMessage);
    this.expected = `v=${b64(mac(mac(salted, 'Server Key'), authMessage))}`;
    return `${withoutProof},p=${b64(Buffer.from(clientKey.map((x, i) => x ^ sig[i])))}`;
  }

  /** True when server-final-message proves the server knew the keys. */
  verify(sf: string): boolean {
    return this.expected !== '' && sf === this.expected;
  }
}

// ---- helpers ----

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-scram-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const buf = (s: string): Buffer => Buffer.from(s);
const text = (s: AuthStep): string => s.data?.toString() ?? '';

/** A credentials db for `users` (name → password), as the file would give it. */
function db(users: Record<string, string>, iterations = 4096): ScramDb {
  const m = new Map(Object.entries(users).map(([u, pw]) => [u, scramKeys(pw, randomBytes(16), iterations)]));
  return { users: m, secret: randomBytes(32) };
}

/** A whole exchange; returns the last step. */
function login(ex: AuthExchange, c: ScramClient): AuthStep {
  const s1 = ex.step(buf(c.first()));
  if (s1.rc !== 0x18) return s1;
  return ex.step(buf(c.final(text(s1))));
}

describe('SCRAM-SHA-256 against RFC 7677 §3', () => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const cnonce = 'rOprNGfwEbeRWgbNEkqO';
  const snonce = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const serverFirst = `r=${cnonce}${snonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
  const clientFinal = `c=biws,r=${cnonce}${snonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
  const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

  it('the independent client computes the RFC proof and server signature byte for byte', () => {
    const c = new ScramClient('user', 'pencil', cnonce);
    expect(c.first()).toBe(`n,,n=user,r=${cnonce}`);
    expect(c.final(serverFirst)).toBe(clientFinal);
    expect(c.verify(serverFinal)).toBe(true);
  });

  it('the server, with the RFC salt and nonce, answers the RFC messages byte for byte', () => {
    const keys = scramKeys('pencil', salt, 4096);
    const ex = new ScramExchange({ users: new Map([['user', keys]]), secret: randomBytes(32) }, snonce);
    const s1 = ex.step(buf(`n,,n=user,r=${cnonce}`));
    expect([s1.rc, text(s1)]).toEqual([0x18, serverFirst]);
    const s2 = ex.step(buf(clientFinal));
    expect([s2.rc, text(s2)]).toEqual([0, serverFinal]);
    expect(s2.rc === 0 && s2.username).toBe('user');
  });
});

describe('SCRAM-SHA-256 exchange', () => {
  const users = db({ alice: 'wonderland', 'o,d=d': 'name' });

  it('a right password succeeds and the client can verify the server', () => {
    const c = new ScramClient('alice', 'wonderland');
    const last = login(new ScramExchange(users), c);
    expect(last.rc).toBe(0);
    expect(last.rc === 0 && last.username).toBe('alice');
    expect(c.verify(text(last))).toBe(true);
  });

  it("a username with ',' and '=' travels as =2C and =3D", () => {
    expect(login(new ScramExchange(users), new ScramClient('o,d=d', 'name')).rc).toBe(0);
  });

  it('a wrong password: 0x87 with e=invalid-proof', () => {
    const last = login(new ScramExchange(users), new ScramClient('alice', 'looking-glass'));
    expect([last.rc, text(last)]).toEqual([0x87, 'e=invalid-proof']);
  });

  it('an unknown user: a real-looking, stable salt, and the same refusal as a wrong password', () => {
    const first = (u: string): string => text(new ScramExchange(users).step(buf(new ScramClient(u, 'x').first())));
    const shape = /^r=[!-+\--~]+,s=([A-Za-z0-9+/]{22}==),i=4096$/;
    const known = first('alice');
    const [a, b, other] = [first('mallory'), first('mallory'), first('trudy')];
    for (const sf of [known, a, other]) expect(sf).toMatch(shape);
    expect(a.match(shape)?.[1]).toBe(b.match(shape)?.[1]);
    expect(a.match(shape)?.[1]).not.toBe(other.match(shape)?.[1]);
    const last = login(new ScramExchange(users), new ScramClient('mallory', 'wonderland'));
    expect([last.rc, text(last)]).toEqual([0x87, 'e=invalid-proof']);
    // Another file (another secret) gives the unknown user another salt: it is not computable.
    expect(text(new ScramExchange(db({})).step(buf(new ScramClient('mallory', 'x').first()))).match(shape)?.[1]).not.toBe(a.match(shape)?.[1]);
  });

  it('a replayed client-final-message fails: the server nonce is new in each exchange', () => {
    const c = new ScramClient('alice', 'wonderland', 'fixed-client-nonce');
    const ex1 = new ScramExchange(users);
    const final = c.final(text(ex1.step(buf(c.first()))));
    expect(ex1.step(buf(final)).rc).toBe(0);
    const ex2 = new ScramExchange(users);
    expect(ex2.step(buf(c.first())).rc).toBe(0x18);
    const replay = ex2.step(buf(final));
    expect([replay.rc, text(replay)]).toEqual([0x87, 'e=other-error']);
  });

  it('an altered nonce, or altered channel-binding data, fails', () => {
    const c = new ScramClient('alice', 'wonderland');
    const ex = new ScramExchange(users);
    const final = c.final(text(ex.step(buf(c.first()))));
    expect(text(ex.step(buf(final.replace(',r=', ',r=x'))))).toBe('e=other-error');
    const ex2 = new ScramExchange(users);
    const c2 = new ScramClient('alice', 'wonderland');
    const f2 = c2.final(text(ex2.step(buf(c2.first()))));
    expect(text(ex2.step(buf(f2.replace('c=biws', 'c=eSws'))))).toBe('e=channel-bindings-dont-match');
  });

  it('channel binding (p=) is refused: e=channel-binding-not-supported', () => {
    const s = new ScramExchange(users).step(buf('p=tls-exporter,,n=alice,r=abc'));
    expect([s.rc, text(s)]).toEqual([0x87, 'e=channel-binding-not-supported']);
  });

  it('bad encodings are refused with the RFC 5802 e= value', () => {
    const cases: [string | Buffer, string][] = [
      ['', 'e=invalid-encoding'],
      ['n,,r=abc', 'e=invalid-encoding'],
      ['n,,n=alice', 'e=invalid-encoding'],
      ['n,a=bob,n=alice,r=abc', 'e=invalid-encoding'],
      ['n,,n=alice,r=a b\x01', 'e=invalid-encoding'],
      ['n,,m=x,n=alice,r=abc', 'e=extensions-not-supported'],
      ['n,,n=al=41ice,r=abc', 'e=invalid-username-encoding'],
      [Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61]), 'e=invalid-encoding'],
    ];
    for (const [m, e] of cases) {
      const s = new ScramExchange(users).step(Buffer.isBuffer(m) ? m : buf(m));
      expect([s.rc, text(s)], String(m)).toEqual([0x87, e]);
    }
    // client-final: a proof that is not 32 bytes of base64, or no proof at all.
    for (const bad of ['p=AAAA', 'p=!!!', '']) {
      const c = new ScramClient('alice', 'wonderland');
      const ex = new ScramExchange(users);
      const final = c.final(text(ex.step(buf(c.first()))));
      const s = ex.step(buf(bad ? final.replace(/p=.*$/, bad) : final.replace(/,p=.*$/, '')));
      expect([s.rc, text(s)], bad).toEqual([0x87, 'e=invalid-encoding']);
    }
  });

  it("'y,,' (the client supports channel binding and sees the server does not) is accepted", () => {
    const c = new ScramClient('alice', 'wonderland', undefined, 'y,,');
    const last = login(new ScramExchange(users), c);
    expect(last.rc).toBe(0);
    expect(c.verify(text(last))).toBe(true);
  });

  it('an exchange is over after success or refusal: a further step is refused', () => {
    const ex = new ScramExchange(users);
    expect(login(ex, new ScramClient('alice', 'wonderland')).rc).toBe(0);
    expect(ex.step(buf('c=biws,r=x,p=AAAA')).rc).toBe(0x87);
    const bad = new ScramExchange(users);
    expect(bad.step(buf('junk')).rc).toBe(0x87);
    expect(bad.step(buf(new ScramClient('alice', 'wonderland').first())).rc).toBe(0x87);
  });
});

describe('credentials file and midge passwd --scram', () => {
  it("RFC 5803's format after 'username:'; a bad line is file:line: reason", () => {
    const k = scramKeys('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const line = `user:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${b64(k.storedKey)}:${b64(k.serverKey)}`;
    const parsed = parseScramFile(`# c\n\n${line}\n`, 'scram').users.get('user');
    expect([parsed?.iterations, parsed?.salt.equals(k.salt), parsed?.storedKey.equals(k.storedKey), parsed?.serverKey.equals(k.serverKey)]).toEqual([4096, true, true, true]);
    for (const bad of [
      'user:$7$101$AAAA$AAAA',
      'user:SCRAM-SHA-256$0:AAAA$' + line.split('$').slice(2).join('$'),
      'user:SCRAM-SHA-256$4096:AAAA$AAAA:AAAA',
      'user:SCRAM-SHA-1$4096:' + line.split(':').slice(2).join(':'),
    ]) {
      expect(() => parseScramFile(`\n${bad}\n`, 'scram'), bad).toThrow(`scram:2: user 'user': not a SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY entry`);
    }
  });

  it('writes entries a client logs in with; -D deletes; -U converts plain text', async () => {
    const f = join(dir, 'scram');
    expect(await runPasswd(['--scram', '-c', '-b', f, 'alice', 'wonderland'])).toBe(0);
    expect(await runPasswd(['--scram', '-b', f, 'bob', 'builder'])).toBe(0);
    expect(readFileSync(f, 'utf8')).toMatch(/^alice:SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=\nbob:/);
    const users = parseScramFile(readFileSync(f, 'utf8'), f);
    expect(login(new ScramExchange(users), new ScramClient('alice', 'wonderland')).rc).toBe(0);
    expect(login(new ScramExchange(users), new ScramClient('bob', 'builder')).rc).toBe(0);
    expect(login(new ScramExchange(users), new ScramClient('bob', 'wonderland')).rc).toBe(0x87);
    expect(await runPasswd(['--scram', '-D', f, 'bob'])).toBe(0);
    expect([...parseScramFile(readFileSync(f, 'utf8'), f).users.keys()]).toEqual(['alice']);
    writeFileSync(f, `${readFileSync(f, 'utf8')}carol:plain pw\n`);
    expect(await runPasswd(['--scram', '-U', f])).toBe(0);
    const after = parseScramFile(readFileSync(f, 'utf8'), f);
    expect(after.users.get('alice')?.storedKey.equals(users.users.get('alice')!.storedKey)).toBe(true);
    expect(login(new ScramExchange(after), new ScramClient('carol', 'plain pw')).rc).toBe(0);
  });
});

describe('scram_credentials_file option', () => {
  const F = '/etc/midge.conf';

  it('global by default, per listener with per_listener_settings true; needs a file name', () => {
    const g = parseConfigText('listener 1883\nscram_credentials_file /etc/my scram\n', F);
    expect([g.scramFile, g.listeners[0].scramFile]).toEqual(['/etc/my scram', undefined]);
    const p = parseConfigText('per_listener_settings true\nlistener 1883\nscram_credentials_file /s1\nlistener 1884\n', F);
    expect([p.scramFile, ...p.listeners.map((l) => l.scramFile)]).toEqual([undefined, '/s1', undefined]);
    expect(() => parseConfigText('scram_credentials_file', F)).toThrow(`${F}:1: option 'scram_credentials_file' needs a file name`);
  });

  it('the broker loads it, offers SCRAM-SHA-256 from it, re-reads it on reload, and keeps it if broken', async () => {
    const f = join(dir, 'scram-reload');
    writeFileSync(f, `alice:${scramEntry('wonderland')}\n`);
    const b = await startBroker({ scramFile: f });
    try {
      const gate = b.running.broker.gate as unknown as { exchange(m: string, l: unknown): AuthExchange | undefined };
      const l = undefined;
      expect(gate.exchange('SCRAM-SHA-1', l)).toBeUndefined();
      expect(login(gate.exchange('SCRAM-SHA-256', l)!, new ScramClient('alice', 'wonderland')).rc).toBe(0);
      expect(await runPasswd(['--scram', '-b', f, 'alice', 'looking-glass'])).toBe(0);
      await b.running.reload();
      expect(login(gate.exchange('SCRAM-SHA-256', l)!, new ScramClient('alice', 'wonderland')).rc).toBe(0x87);
      expect(login(gate.exchange('SCRAM-SHA-256', l)!, new ScramClient('alice', 'looking-glass')).rc).toBe(0);
      writeFileSync(f, 'alice:broken\n');
      await b.running.reload(); // logged, previous users kept
      expect(login(gate.exchange('SCRAM-SHA-256', l)!, new ScramClient('alice', 'looking-glass')).rc).toBe(0);
    } finally {
      await b.close();
    }
  });
});

// ---- On the wire: MQTT 5 CONNECT / AUTH / CONNACK (§4.12) ----

describe('MQTT 5 enhanced authentication with SCRAM-SHA-256', () => {
  let b: TestBroker;
  let noScram: TestBroker;
  const M = 'SCRAM-SHA-256';
  const raws: RawClient[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const scramFile = join(dir, 'scram-wire');
    writeFileSync(scramFile, `alice:${scramEntry('wonderland')}\nbob:${scramEntry('builder')}\n`);
    const aclFile = join(dir, 'acl');
    writeFileSync(aclFile, 'user alice\ntopic readwrite alice/#\n');
    // An empty password file: no client gets in with a plain password, only through SCRAM.
    const passwordFile = join(dir, 'passwd-empty');
    writeFileSync(passwordFile, '');
    b = await startBroker({ allowAnonymous: false, scramFile, aclFile, passwordFile });
    noScram = await startBroker({ allowAnonymous: true });
  });
  afterAll(async () => {
    await Promise.all([b.close(), noScram.close()]);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
    for (const r of raws.splice(0)) r.end();
  });

  const v5 = { protocolVersion: 5 };
  /** A raw MQTT 5 connection that has sent CONNECT with `props`. */
  async function rawConnect(port: number, id: string, props: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<RawClient> {
    const c = await RawClient.connect(port, 5);
    raws.push(c);
    c.send({ cmd: 'connect', clientId: id, clean: true, keepalive: 0, ...v5, properties: props, ...extra });
    return c;
  }
  const auth = (rc: number, data: string, method = M): Record<string, unknown> => ({
    cmd: 'auth',
    reasonCode: rc,
    ...v5,
    properties: { authenticationMethod: method, authenticationData: Buffer.from(data) },
  });
  /** CONNECT with client-first, then the server's AUTH; returns the client, its SCRAM state and that AUTH. */
  async function firstStep(id: string, user = 'alice', pw = 'wonderland') {
    const s = new ScramClient(user, pw);
    const c = await rawConnect(b.port, id, { authenticationMethod: M, authenticationData: Buffer.from(s.first()) });
    const a = await c.next();
    return { c, s, a };
  }

  it('MQTT.js logs in with a real SCRAM exchange; the CONNACK echoes the method [MQTT-4.12.0-5] and proves the server', async () => {
    const s = new ScramClient('alice', 'wonderland');
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: b.port,
      clientId: 'scram-mqttjs',
      // Ignored: SCRAM proved alice, and alice's ACL applies (bob has none: he could do nothing).
      username: 'bob',
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      properties: { authenticationMethod: M, authenticationData: Buffer.from(s.first()) },
    });
    clients.push(c);
    const seen: number[] = [];
    c.handleAuth = (packet: IAuthPacket, cb) => {
      seen.push(packet.reasonCode as number);
      const sf = (packet.properties?.authenticationData as Buffer).toString();
      cb(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: M, authenticationData: Buffer.from(s.final(sf)) } });
    };
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    expect(connack.reasonCode).toBe(0);
    expect(seen).toEqual([0x18]); // [MQTT-4.12.0-2] one AUTH 0x18 from the server
    expect(connack.properties?.authenticationMethod).toBe(M);
    expect(s.verify((connack.properties?.authenticationData as Buffer).toString())).toBe(true);
    // The SCRAM username is the client's username for the ACL: alice may use alice/#.
    await c.subscribeAsync('alice/#', { qos: 1 });
    const got = new Promise<string>((resolve) => c.once('message', (t) => resolve(t)));
    await c.publishAsync('alice/x', 'hi', { qos: 1 });
    expect(await got).toBe('alice/x');
    // Not bob/#: MQTT.js rejects on the SUBACK's failure code.
    await expect(c.subscribeAsync('bob/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
  });

  it('a wrong password: CONNACK 0x87 with the method and e=invalid-proof, then close [MQTT-4.12.0-4]', async () => {
    const { c, s, a } = await firstStep('scram-wrong', 'alice', 'looking-glass');
    // [MQTT-4.12.0-2] AUTH 0x18 [MQTT-4.12.0-5] with the CONNECT's method.
    expect([a.cmd, a.reasonCode, a.properties?.authenticationMethod]).toEqual(['auth', 0x18, M]);
    c.send(auth(0x18, s.final(a.properties.authenticationData.toString())));
    const connack = await c.next();
    expect([connack.cmd, connack.reasonCode, connack.properties?.authenticationData?.toString()]).toEqual(['connack', 0x87, 'e=invalid-proof']);
    expect(await c.closesWithin()).toBe(true);
  });

  it('SCRAM users are not password_file users: a plain CONNECT with their password is refused', async () => {
    const login = { username: 'alice', password: Buffer.from('wonderland') };
    const v4 = await RawClient.session(b.port, 'scram-plain-4', login);
    const v5c = await RawClient.session(b.port, 'scram-plain-5', { ...login, ...v5 });
    raws.push(v4.c, v5c.c);
    expect([v4.connack.returnCode, v5c.connack.reasonCode]).toEqual([5, 0x87]);
  });

  it('an unknown user gets an AUTH of the same shape and the same refusal', async () => {
    const { c, s, a } = await firstStep('scram-nobody', 'mallory', 'x');
    expect(a.properties.authenticationData.toString()).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=4096$/);
    c.send(auth(0x18, s.final(a.properties.authenticationData.toString())));
    const connack = await c.next();
    expect([connack.reasonCode, connack.properties?.authenticationData?.toString()]).toEqual([0x87, 'e=invalid-proof']);
    expect(await c.closesWithin()).toBe(true);
  });

  it('an unknown method, or SCRAM where no scram_credentials_file applies: CONNACK 0x8C and close [MQTT-4.12.0-1]', async () => {
    for (const [port, method] of [[b.port, 'SCRAM-SHA-1'], [noScram.port, M]] as const) {
      const c = await rawConnect(port, 'scram-method', { authenticationMethod: method, authenticationData: Buffer.from('n,,n=alice,r=abc') });
      const connack = await c.next();
      expect([connack.cmd, connack.reasonCode], method).toEqual(['connack', 0x8c]);
      expect(await c.closesWithin()).toBe(true);
    }
  });

  it('per_listener_settings: SCRAM only on the listener whose scram_credentials_file it is', async () => {
    const scramFile = join(dir, 'scram-wire');
    const r = await startServer(testConfig({ perListenerSettings: true, listeners: [listener({ allowAnonymous: true }), listener({ scramFile })] }));
    try {
      const [open, locked] = r.addresses.map((x) => x.port);
      for (const [port, rc] of [[open, 0x8c], [locked, 0x18]] as const) {
        const c = await rawConnect(port, `scram-pl-${port}`, { authenticationMethod: M, authenticationData: Buffer.from(new ScramClient('alice', 'x').first()) });
        expect((await c.next()).reasonCode, String(port)).toBe(rc);
      }
    } finally {
      await r.close();
    }
  });

  it('a bad client-first-message is refused in the CONNACK with its e= value', async () => {
    const c = await rawConnect(b.port, 'scram-p', { authenticationMethod: M, authenticationData: Buffer.from('p=tls-exporter,,n=alice,r=abc') });
    const connack = await c.next();
    expect([connack.reasonCode, connack.properties?.authenticationData?.toString()]).toEqual([0x87, 'e=channel-binding-not-supported']);
    expect(await c.closesWithin()).toBe(true);
  });

  it('only AUTH or DISCONNECT before CONNACK [MQTT-3.1.2-30]: anything else gets CONNACK 0x82, no DISCONNECT [MQTT-3.14.0-1]', async () => {
    const { c } = await firstStep('scram-early-publish');
    c.send({ cmd: 'publish', topic: 'alice/x', payload: 'early', qos: 0, ...v5 });
    const r = await c.next();
    expect([r.cmd, r.reasonCode]).toEqual(['connack', 0x82]);
    expect(await c.closesWithin()).toBe(true);
    // A second CONNECT during the exchange is no way around it.
    const { c: c2 } = await firstStep('scram-second-connect');
    c2.send({ cmd: 'connect', clientId: 'scram-second-connect', clean: true, keepalive: 0, ...v5 });
    expect((await c2.next()).reasonCode).toBe(0x82);
    expect(await c2.closesWithin()).toBe(true);
  });

  it('an AUTH with another method [MQTT-4.12.0-5] or reason code [MQTT-4.12.0-3] during the exchange: CONNACK 0x82', async () => {
    for (const [rc, method] of [[0x18, 'SCRAM-SHA-1'], [0x19, M], [0, M]] as const) {
      const { c, s, a } = await firstStep(`scram-seq-${rc}`);
      c.send(auth(rc, s.final(a.properties.authenticationData.toString()), method));
      const r = await c.next();
      expect([r.cmd, r.reasonCode], `${rc} ${method}`).toEqual(['connack', 0x82]);
      expect(await c.closesWithin()).toBe(true);
    }
  });

  it('DISCONNECT during the exchange just closes', async () => {
    const { c } = await firstStep('scram-gives-up');
    c.send({ cmd: 'disconnect', ...v5 });
    expect(await c.closesWithin()).toBe(true);
    expect(c.packets).toEqual([]);
  });

  it('AUTH from a client that did not CONNECT with a method: DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    const { c, connack } = await RawClient.session(noScram.port, 'scram-no-method', v5);
    raws.push(c);
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBeUndefined(); // [MQTT-4.12.0-6]
    c.send(auth(0x19, 'n,,n=alice,r=abc'));
    const r = await c.next();
    expect([r.cmd, r.reasonCode]).toEqual(['disconnect', 0x82]);
    expect(await c.closesWithin()).toBe(true);
  });

  /** A client connected through SCRAM, over a raw socket. */
  async function loggedIn(id: string): Promise<RawClient> {
    const { c, s, a } = await firstStep(id);
    c.send(auth(0x18, s.final(a.properties.authenticationData.toString())));
    const connack = await c.next();
    expect([connack.cmd, connack.reasonCode]).toEqual(['connack', 0]);
    return c;
  }

  it('re-authentication: AUTH 0x19 after CONNACK [MQTT-4.12.1-1], the exchange, then AUTH 0x00 with the server signature', async () => {
    const c = await loggedIn('scram-reauth');
    for (let round = 0; round < 2; round++) {
      const s = new ScramClient('alice', 'wonderland');
      c.send(auth(0x19, s.first()));
      const a = await c.next();
      expect([a.cmd, a.reasonCode, a.properties?.authenticationMethod]).toEqual(['auth', 0x18, M]);
      c.send(auth(0x18, s.final(a.properties.authenticationData.toString())));
      const done = await c.next();
      expect([done.cmd, done.reasonCode, done.properties?.authenticationMethod]).toEqual(['auth', 0, M]);
      expect(s.verify(done.properties.authenticationData.toString())).toBe(true);
    }
    // Still connected and working.
    c.send({ cmd: 'pingreq', ...v5 });
    expect((await c.next()).cmd).toBe('pingresp');
  });

  it('a failed re-authentication, or one as another user, ends the connection with DISCONNECT [MQTT-4.12.1-2]', async () => {
    const cases = [
      ['alice', 'looking-glass', 0x87],
      ['bob', 'builder', 0x87],
    ] as const;
    for (const [user, pw, rc] of cases) {
      const c = await loggedIn(`scram-reauth-${user}`);
      const s = new ScramClient(user, pw);
      c.send(auth(0x19, s.first()));
      const a = await c.next();
      c.send(auth(0x18, s.final(a.properties.authenticationData.toString())));
      const r = await c.next();
      expect([r.cmd, r.reasonCode], user).toEqual(['disconnect', rc]);
      expect(await c.closesWithin()).toBe(true);
    }
    // AUTH 0x18 when no re-authentication was started [MQTT-4.12.1-1].
    const c = await loggedIn('scram-reauth-18');
    c.send(auth(0x18, 'n,,n=alice,r=abc'));
    expect((await c.next()).reasonCode).toBe(0x82);
    expect(await c.closesWithin()).toBe(true);
  });

  it('the CONNECT timeout covers the whole exchange: a client that stops after the first AUTH is closed', async () => {
    const t0 = Date.now();
    const { c } = await firstStep('scram-stalls');
    expect(await c.closesWithin(15_000)).toBe(true);
    // CONNECT_TIMEOUT is 10 s from accept, checked once a second.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_500);
    expect(c.packets).toEqual([]);
  }, 30_000);
});
