// Wire differential harness (issue 15): every exchange of wire-cases.ts is replayed as raw bytes
// against Debian's mosquitto and against Midge, and what each client receives (bytes, and whether
// and when the connection is closed) must be the same, byte for byte. The exceptions are listed
// in DELIBERATE (wire-cases.ts and docs/wire-differences.md), and each must still differ, so the
// list stays true.
//
// Both brokers run with the same settings (anonymous clients allowed, everything else at its
// default) for the whole file; cases run a few at a time, each with its own client ids and topics.
// WIRE_DIFF_REPORT=FILE writes the table of docs/wire-differences.md to FILE (and the full
// transcripts of any case that differs unexpectedly).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import type { Proc } from '../helpers/proc.ts';
import { replay, type ReplayOptions, type WireCase } from '../helpers/wire.ts';
import { sharedDir, startMosquitto } from '../auth/mosquitto.ts';
import { CASES, DELIBERATE, tokenOf } from './wire-cases.ts';

const havePeer = requirePeer('mosquitto');
const OPTS: ReplayOptions = { stepMs: 1500, quietMs: 150 };
/** Cases replayed at once (each against both brokers). */
const AT_ONCE = 10;

interface Result {
  mosquitto: string[];
  midge: string[];
}

describe.skipIf(!havePeer)('wire differential: Debian mosquitto and Midge, byte for byte', () => {
  let midge: TestBroker;
  let mosquitto: { port: number; proc: Proc };
  const results = new Map<string, Result>();

  async function run(k: WireCase): Promise<void> {
    const steps = k.steps(tokenOf(k.name));
    const [a, b] = await Promise.all([
      replay(mosquitto.port, steps, k.norm ?? [], OPTS),
      replay(midge.port, steps, k.norm ?? [], OPTS),
    ]);
    results.set(k.name, { mosquitto: a, midge: b });
  }

  beforeAll(async () => {
    const dir = sharedDir('midge-wire-');
    // A port taken between freePort() and mosquitto's bind makes it exit: try again.
    for (let i = 0; ; i++) {
      try {
        mosquitto = await startMosquitto(dir, ['allow_anonymous true']);
        break;
      } catch (e) {
        if (i === 2) throw e;
      }
    }
    midge = await startBroker();
    // A pool: a case that waits (a broker that stays silent) holds up no other.
    const queue = [...CASES];
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        for (let k = queue.shift(); k; k = queue.shift()) await run(k);
      }),
    );
    if (process.env.WIRE_DIFF_REPORT) writeFileSync(process.env.WIRE_DIFF_REPORT, report(results));
  }, 120_000);

  afterAll(async () => {
    mosquitto?.proc.kill();
    await mosquitto?.proc.waitExit();
    await midge?.close();
  });

  it('has at least 150 exchanges, with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CASES.map((k) => k.name)).size).toBe(CASES.length);
    expect(new Set(CASES.map((k) => tokenOf(k.name))).size).toBe(CASES.length);
  });

  it('lists as deliberate only cases that exist', () => {
    const names = new Set(CASES.map((k) => k.name));
    expect(Object.keys(DELIBERATE).filter((n) => !names.has(n))).toEqual([]);
  });

  for (const k of CASES) {
    const why = DELIBERATE[k.name];
    if (why) {
      it(`${k.name} — differs deliberately: ${why.spec}`, () => {
        const r = results.get(k.name)!;
        expect(r.midge, 'the difference is gone: take the case off DELIBERATE').not.toEqual(r.mosquitto);
        if (why.undo) expect(why.undo(r.midge), 'a difference beyond the listed one').toEqual(r.mosquitto);
      });
    } else {
      it(k.name, () => {
        const r = results.get(k.name)!;
        expect(r.midge).toEqual(r.mosquitto);
      });
    }
  }
});

/** Lines only in `a` and lines only in `b` (a longest common subsequence apart). */
function apart(a: string[], b: string[]): [string[], string[]] {
  const n = a.length;
  const m = b.length;
  const l = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) l[i][j] = a[i] === b[j] ? l[i + 1][j + 1] + 1 : Math.max(l[i + 1][j], l[i][j + 1]);
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (i++, j++);
    else if (j >= m || (i < n && l[i + 1][j] >= l[i][j + 1])) onlyA.push(a[i++]);
    else onlyB.push(b[j++]);
  }
  return [onlyA, onlyB];
}

/**
 * Markdown for docs/wire-differences.md: the table of deliberate differences (the transcript
 * lines each broker has and the other has not), then the full transcripts of any other case
 * that differs.
 */
function report(results: Map<string, Result>): string {
  const same = [...results.values()].filter((r) => JSON.stringify(r.midge) === JSON.stringify(r.mosquitto)).length;
  const cell = (lines: string[]): string => lines.map((x) => `\`${x}\``).join('<br>') || '(nothing)';
  const out = [
    `${results.size} exchanges, ${same} identical, ${results.size - same} differ.`,
    '',
    '| Case | Mosquitto 2.0.11 | Midge | Why |',
    '|---|---|---|---|',
  ];
  const unexpected: string[] = [];
  for (const { name } of CASES) {
    const r = results.get(name)!;
    if (JSON.stringify(r.midge) === JSON.stringify(r.mosquitto)) continue;
    const why = DELIBERATE[name];
    if (!why) {
      unexpected.push(`## ${name}`, '', 'mosquitto:', '```', ...r.mosquitto, '```', 'midge:', '```', ...r.midge, '```', '');
      continue;
    }
    const [m, g] = apart(r.mosquitto, r.midge);
    out.push(`| ${name.replace(/\|/g, '\\|')} | ${cell(m)} | ${cell(g)} | ${why.spec}. ${why.why}. |`);
  }
  return [...out, '', ...unexpected].join('\n');
}
