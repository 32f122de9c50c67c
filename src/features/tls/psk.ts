// TLS-PSK: Mosquitto's psk_file (`identity:key` lines, the key in hex without 0x; `#` lines and
// blank lines skipped) and the hex keys of bridge_psk. docs/security.md#tls-psk.
import { readFileSync } from 'node:fs';
import { contentLines } from '../../config/lines.ts';

/** A hex key as bytes (an odd count of digits gets a leading 0, as OpenSSL reads it); undefined if not hex. */
export function hexKey(s: string): Buffer | undefined {
  return /^[0-9a-fA-F]+$/.test(s) ? Buffer.from(s.length % 2 ? `0${s}` : s, 'hex') : undefined;
}

/** Reads a psk_file into identity → key; a malformed line throws, naming the file and line. */
export function readPskFile(path: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const [n, line] of contentLines(readFileSync(path, 'utf8'))) {
    const i = line.indexOf(':');
    const key = i > 0 ? hexKey(line.slice(i + 1)) : undefined;
    if (!key) throw new Error(`${path}:${n}: expected identity:key with the key in hex`);
    keys.set(line.slice(0, i), key);
  }
  return keys;
}
