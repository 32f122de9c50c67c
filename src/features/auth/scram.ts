// SCRAM-SHA-256, server side (RFC 5802, RFC 7677), without channel binding. The server keeps only
// StoredKey and ServerKey per user (scram-file.ts) and never runs PBKDF2: the client does.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthExchange, AuthStep } from '../../broker/access.ts';

export interface ScramKeys {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** A credentials file: its users, and a secret (a hash of the file) for unknown users' fake salts. */
export interface ScramDb {
  users: Map<string, ScramKeys>;
  secret: Buffer;
}

export const hmac = (key: Buffer, s: string): Buffer => createHmac('sha256', key).update(s).digest();
export const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
/** What `midge passwd --scram` writes; unknown users are offered it too. */
export const SCRAM_ITERATIONS = 4096;

/** RFC 5802's error for anything that does not parse. */
const INVALID = 'invalid-encoding';

/** A refusal with RFC 5802's server-error-value, which also says why in the log. */
const refuse = (e: string): AuthStep => ({ rc: 0x87, why: `SCRAM ${e}`, data: Buffer.from(`e=${e}`) });

export class ScramExchange implements AuthExchange {
  /** client-first-message-bare + ',' + server-first-message; set once the first step succeeded. */
  private first = '';
  private gs2 = '';
  private nonce = '';
  private user = '';
  private keys: ScramKeys | undefined;
  private done = false;

  constructor(
    private readonly db: ScramDb,
    /** The server's part of the nonce; tests pass RFC 7677's. */
    private readonly serverNonce = randomBytes(18).toString('base64'),
  ) {}

  step(data: Buffer | undefined): AuthStep {
    const m = data?.toString() ?? '';
    const r =
      this.done || m.includes('\ufffd') ? refuse(INVALID)
      : this.first ? this.final(m)
      : this.start(m);
    this.done = r.rc !== 0x18;
    return r;
  }

  private start(m: string): AuthStep {
    // gs2-header 'n,,' or 'y,,' ('y' is fine: we offer no channel binding), no authzid.
    const f = /^([ny],,)(n=([^,]+),r=([!-+\--~]+)(?:,.*)?)$/.exec(m);
    if (!f) {
      const e = m.startsWith('p=') ? 'channel-binding-not-supported' : /^[ny],[^,]*,m=/.test(m) ? 'extensions-not-supported' : INVALID;
      return refuse(e);
    }
    // saslname: ',' and '=' travel as '=2C' and '=3D'; any other '=' is invalid.
    if (/=(?!2C|3D)/.test(f[3])) return refuse('invalid-username-encoding');
    const user = f[3].replace(/=2C/g, ',').replace(/=3D/g, '=');
    // An unknown user gets a salt derived from the name and the secret: stable and real-looking,
    // and computed for every user so that both answers take the same time.
    const h = hmac(this.db.secret, user);
    const known = this.db.users.get(user);
    const k = (this.keys = known ?? { iterations: SCRAM_ITERATIONS, salt: h.subarray(0, 16), storedKey: h, serverKey: h });
    this.user = known ? user : '';
    this.gs2 = f[1];
    this.nonce = f[4] + this.serverNonce;
    const server = `r=${this.nonce},s=${k.salt.toString('base64')},i=${k.iterations}`;
    this.first = `${f[2]},${server}`;
    return { rc: 0x18, data: Buffer.from(server) };
  }

  private final(m: string): AuthStep {
    const f = /^c=([^,]*),r=([^,]*),(?:.*,)?p=([A-Za-z0-9+/]{43}=)$/.exec(m);
    if (!f) return refuse(INVALID);
    if (f[1] !== Buffer.from(this.gs2).toString('base64')) return refuse('channel-bindings-dont-match');
    if (f[2] !== this.nonce) return refuse('other-error'); // not our nonce: a replay
    const k = this.keys as ScramKeys;
    const auth = `${this.first},${m.slice(0, m.lastIndexOf(',p='))}`;
    const key = Buffer.from(f[3], 'base64');
    const sig = hmac(k.storedKey, auth);
    for (let i = 0; i < 32; i++) key[i] ^= sig[i];
    // An unknown user fails here, as a wrong password does, and after the same work.
    if (!timingSafeEqual(sha256(key), k.storedKey) || !this.user) return refuse('invalid-proof');
    return { rc: 0, username: this.user, data: Buffer.from(`v=${hmac(k.serverKey, auth).toString('base64')}`) };
  }
}
