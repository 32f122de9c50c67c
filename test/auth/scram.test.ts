// MQTT 5 enhanced authentication with SCRAM-SHA-256 (RFC 5802, RFC 7677): the server side against
// RFC 7677's test vector and against an independent client written here from the RFC, the
// credentials file, `midge passwd --scram`, and the scram_credentials_file option.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import type { AuthExchange, AuthStep } from '../../src/features/auth/enhanced.ts';
import { runPasswd } from '../../src/features/auth/passwd.ts';
import { ScramExchange, type ScramDb } from '../../src/features/auth/scram.ts';
import { parseScramFile, scramKeys } from '../../src/features/auth/scram-file.ts';
import { startBroker } from '../helpers/broker.ts';

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
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-scram-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    const dir = mkdtempSync(join(tmpdir(), 'midge-scram-opt-'));
    const f = join(dir, 'scram');
    writeFileSync(f, `alice:${(await import('../../src/features/auth/scram-file.ts')).scramEntry('wonderland')}\n`);
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
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
