// State payloads of GPIO pins: what is published, and what a set-topic message may say.
import type { GpioFormat } from './config.ts';
import type { Level } from './pin.ts';

const WORDS: Record<GpioFormat, [string, string]> = { '01': ['0', '1'], onoff: ['OFF', 'ON'], bool: ['false', 'true'], json: ['', ''] };

/** The payload for a logical level; json carries the time in ms since the epoch. */
export function encodeState(format: GpioFormat, v: Level, now: number): Buffer {
  return Buffer.from(format === 'json' ? `{"value":${v},"ts":${now}}` : WORDS[format][v]);
}

const ON = new Set(['1', 'on', 'true', 'high']);
const OFF = new Set(['0', 'off', 'false', 'low']);

/**
 * A set-topic payload in any of the formats (case-insensitive), or `toggle`; JSON as a bare value
 * or {"value": ...}. undefined = not understood.
 */
export function decodeSet(payload: Buffer): Level | 'toggle' | undefined {
  let s = payload.toString('utf8').trim();
  if (s.startsWith('{')) {
    try {
      const v = (JSON.parse(s) as { value?: unknown }).value;
      s = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
    } catch {
      return undefined;
    }
  }
  s = s.toLowerCase();
  if (ON.has(s)) return 1;
  if (OFF.has(s)) return 0;
  return s === 'toggle' ? 'toggle' : undefined;
}
