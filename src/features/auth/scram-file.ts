// SCRAM credentials file (scram_credentials_file): one `username:ENTRY` line per user, `#`
// comments, where ENTRY is RFC 5803's `SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY` (base64).
// A separate file because Mosquitto's $7$ hashes (PBKDF2-SHA512) cannot give SCRAM's keys.
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { parseUsers } from './password-file.ts';
import { hmac, SCRAM_ITERATIONS, sha256, type ScramDb, type ScramKeys } from './scram.ts';

const ENTRY = /^SCRAM-SHA-256\$(\d{1,9}):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]{43}=):([A-Za-z0-9+/]{43}=)$/;

export function parseScramEntry(s: string): ScramKeys | string {
  const f = ENTRY.exec(s);
  if (!f || f[1] === '0') return 'not a SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY entry';
  const b = (i: number): Buffer => Buffer.from(f[i], 'base64');
  return { iterations: Number(f[1]), salt: b(2), storedKey: b(3), serverKey: b(4) };
}

export function parseScramFile(text: string, file: string): ScramDb {
  // The secret changes only with the file, so a fake salt is as stable as a real one.
  return { users: parseUsers(text, file, parseScramEntry), secret: sha256(Buffer.from(text)) };
}

/** RFC 5802's key derivation: what the client proves it knows, and what proves the server. */
export function scramKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  return { iterations, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** A new ENTRY for `password` (16-byte random salt). */
export function scramEntry(password: string, iterations = SCRAM_ITERATIONS): string {
  const k = scramKeys(password, randomBytes(16), iterations);
  const b = (x: Buffer): string => x.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b(k.salt)}$${b(k.storedKey)}:${b(k.serverKey)}`;
}
