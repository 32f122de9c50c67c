// String and topic checks shared by the decoder and the broker. Each returns the id of the
// violated normative statement (numbered as in MQTT 3.1.1, for MQTT 5 too) or null, so callers
// can report the exact rule.

import * as nodeBuffer from 'node:buffer';

// buffer.isUtf8 arrived in Node 18.14; boards may run an older 18. A fatal TextDecoder gives the
// same answer (it rejects encoded surrogates and overlong forms too), only slower.
const fatal = new TextDecoder('utf-8', { fatal: true });
const isUtf8: (b: Buffer) => boolean =
  (nodeBuffer as { isUtf8?: (b: Buffer) => boolean }).isUtf8 ??
  ((b) => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  });

/** Longest string checked with the inline ASCII scan; longer ones go straight to native code. */
const SHORT = 64;

/**
 * Checks bytes [start, end) of `buf` as an MQTT UTF-8 string: 'MQTT-1.5.3-1' if ill-formed
 * (includes encoded surrogates and overlong forms), 'MQTT-1.5.3-2' if it contains U+0000.
 */
export function checkUtf8(buf: Buffer, start: number, end: number): string | null {
  // Topics and client ids are short and nearly always ASCII: a tiny loop beats creating a
  // subarray plus two native calls. Anything else falls through to the native validator.
  if (end - start <= SHORT) {
    let i = start;
    while (i < end) {
      const b = buf[i];
      if (b === 0 || b >= 0x80) break;
      i++;
    }
    if (i === end) return null;
  }
  const s = buf.subarray(start, end);
  if (!isUtf8(s)) return 'MQTT-1.5.3-1';
  if (s.indexOf(0) !== -1) return 'MQTT-1.5.3-2';
  return null;
}

/**
 * Most '/' a topic name or filter may have: 200, so 201 levels, as in Mosquitto, which closes the
 * connection of a client that sends a deeper one (a PUBLISH, SUBSCRIBE, UNSUBSCRIBE or will
 * topic): so does Midge, through the rule ids below. The topic tree's match() recurses once per
 * level of the subscribed filters, so a filter thousands of levels deep could overflow the stack.
 */
export const MAX_TOPIC_SLASHES = 200;

/** True when `t` has more than MAX_TOPIC_SLASHES '/'; free for strings shorter than that. */
export function tooDeep(t: string): boolean {
  if (t.length <= MAX_TOPIC_SLASHES) return false;
  let n = 0;
  for (let i = t.indexOf('/'); i !== -1; i = t.indexOf('/', i + 1)) if (++n > MAX_TOPIC_SLASHES) return true;
  return false;
}

/** Rule violated by a PUBLISH / will Topic Name ('topic-levels': too deep), or null. */
export function topicNameError(t: string): string | null {
  if (t.length === 0) return 'MQTT-4.7.3-1';
  if (tooDeep(t)) return 'topic-levels';
  if (t.indexOf('+') !== -1 || t.indexOf('#') !== -1) return 'MQTT-3.3.2-2';
  return null;
}

/** Rule violated by a SUBSCRIBE / UNSUBSCRIBE Topic Filter ('filter-levels': too deep), or null. */
export function topicFilterError(f: string): string | null {
  const n = f.length;
  if (n === 0) return 'MQTT-4.7.3-1';
  if (tooDeep(f)) return 'filter-levels';
  for (let i = 0; i < n; i++) {
    const c = f.charCodeAt(i);
    if (c === 0x23 /* # */) {
      // '#' must be the last character and fill its whole level.
      if (i !== n - 1 || (i > 0 && f.charCodeAt(i - 1) !== 0x2f)) return 'MQTT-4.7.1-2';
    } else if (c === 0x2b /* + */) {
      // '+' must fill its whole level.
      if ((i > 0 && f.charCodeAt(i - 1) !== 0x2f) || (i < n - 1 && f.charCodeAt(i + 1) !== 0x2f)) {
        return 'MQTT-4.7.1-3';
      }
    }
  }
  return null;
}
