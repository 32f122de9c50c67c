// Mosquitto's password file: `username:$7$ITERATIONS$SALT$HASH` (PBKDF2-HMAC-SHA512, Mosquitto 2's
// default) or `username:$6$SALT$HASH` (SHA-512 of password then salt, Mosquitto 1.x). Salt and hash
// are base64; the hash is 64 bytes. Shared by the broker (verification) and `midge passwd`.
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface PasswordEntry {
  kind: 6 | 7;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** mosquitto_passwd's defaults for new entries. */
export const DEFAULT_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes the part after `username:`; returns a reason string when it is not a hash we know. */
export function parseHash(s: string): PasswordEntry | string {
  const f = s.split('$');
  // '$7$101$salt$hash' splits into ['', '7', '101', 'salt', 'hash'].
  if (f[0] !== '' || (f[1] !== '6' && f[1] !== '7')) {
    return 'password is not a $6$ or $7$ hash (plain text? convert the file with midge passwd -U)';
  }
  const kind = f[1] === '7' ? 7 : 6;
  if (f.length !== (kind === 7 ? 5 : 4)) return `malformed $${kind}$ hash`;
  let iterations = 1;
  if (kind === 7) {
    iterations = /^\d{1,9}$/.test(f[2]) ? Number(f[2]) : 0;
    if (iterations < 1) return `invalid iteration count '${f[2]}'`;
  }
  const [salt64, hash64] = f.slice(-2);
  if (!B64.test(salt64) || !B64.test(hash64)) return 'salt or hash is not base64';
  const hash = Buffer.from(hash64, 'base64');
  if (hash.length !== HASH_BYTES) return `hash is ${hash.length} bytes, expected ${HASH_BYTES}`;
  return { kind, iterations, salt: Buffer.from(salt64, 'base64'), hash };
}

export function digest(e: PasswordEntry, password: Buffer | string): Buffer {
  if (e.kind === 7) return pbkdf2Sync(password, e.salt, e.iterations, HASH_BYTES, 'sha512');
  return createHash('sha512').update(password).update(e.salt).digest();
}

/** A new hash string for `password`, as mosquitto_passwd writes it. */
export function hashPassword(password: string, kind: 6 | 7 = 7, iterations = DEFAULT_ITERATIONS): string {
  const e: PasswordEntry = { kind, iterations, salt: randomBytes(SALT_BYTES), hash: Buffer.alloc(0) };
  const h = digest(e, password).toString('base64');
  const salt = e.salt.toString('base64');
  return kind === 7 ? `$7$${iterations}$${salt}$${h}` : `$6$${salt}$${h}`;
}

/** One line of the file: blank and `#` lines are kept as they are. */
export interface PasswordLine {
  text: string;
  user?: string;
}

export function splitLines(text: string): PasswordLine[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((t) => {
    const i = t.indexOf(':');
    return t.trim() === '' || t.startsWith('#') || i < 0 ? { text: t } : { text: t, user: t.slice(0, i).trim() };
  });
}

/**
 * Parses a whole file of `username:ENTRY` lines with `entry` (which returns a reason string for a
 * bad ENTRY). Stricter than Mosquitto, which skips bad lines with a warning: a bad line is an
 * error (`file:line: reason`), so that a reload with a broken file keeps the old users.
 */
export function parseUsers<T>(text: string, file: string, entry: (s: string) => T | string): Map<string, T> {
  const users = new Map<string, T>();
  splitLines(text).forEach((l, i) => {
    if (l.user === undefined) {
      if (l.text.trim() !== '' && !l.text.startsWith('#')) throw new Error(`${file}:${i + 1}: line without 'username:'`);
      return;
    }
    if (l.user === '') throw new Error(`${file}:${i + 1}: empty username`);
    const e = entry(l.text.slice(l.text.indexOf(':') + 1).trim());
    if (typeof e === 'string') throw new Error(`${file}:${i + 1}: user '${l.user}': ${e}`);
    users.set(l.user, e);
  });
  return users;
}

export const parsePasswordFile = (text: string, file: string): Map<string, PasswordEntry> =>
  parseUsers(text, file, (s) => parseHash(s.split(':')[0]));

// Checked against when the user is unknown, so that the answer takes as long as for a known one.
const DUMMY: PasswordEntry = { kind: 7, iterations: DEFAULT_ITERATIONS, salt: Buffer.alloc(SALT_BYTES), hash: Buffer.alloc(HASH_BYTES) };

/** The users of one password file, with a cache of passwords already verified against it. */
export class PasswordDb {
  /**
   * username → SHA-256 of the password last verified for it. PBKDF2 costs CPU on every CONNECT;
   * a reconnecting device is checked with one SHA-256 instead. The cache lives and dies with this
   * object, so a reloaded file starts with an empty one; it holds at most one entry per user.
   */
  private readonly verified = new Map<string, Buffer>();

  constructor(readonly users: Map<string, PasswordEntry>) {}

  check(username: string, password: Buffer | undefined): boolean {
    const e = this.users.get(username);
    const pw = password ?? Buffer.alloc(0);
    const key = createHash('sha256').update(pw).digest();
    const seen = e && this.verified.get(username);
    if (seen && timingSafeEqual(seen, key)) return true;
    const ok = timingSafeEqual(digest(e ?? DUMMY, pw), (e ?? DUMMY).hash);
    if (!ok || !e || password === undefined) return false;
    this.verified.set(username, key);
    return true;
  }
}
