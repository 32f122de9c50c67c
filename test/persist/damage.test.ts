// Start-up with damaged persistence files: every valid record up to the damage is kept, the file
// is moved aside as FILE.corrupt-<timestamp>, the log says what was recovered and lost, and the
// broker starts (and writes a clean snapshot) instead of crashing.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrokerConfig } from '../../src/config/types.ts';
import { crc32, crc32Table } from '../../src/features/persist/format.ts';
import { log } from '../../src/util/log.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';

let dir: string;
let lines: string[];
const open: TestBroker[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-damage-'));
  lines = [];
  vi.spyOn(log, 'write').mockImplementation((_type, msg) => void lines.push(msg));
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const b of open.splice(0)) await b.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function broker(over: Partial<BrokerConfig> = {}, location = dir): Promise<TestBroker> {
  const b = await startBroker({ persistence: true, persistenceLocation: location, ...over });
  open.push(b);
  return b;
}

async function stop(b: TestBroker): Promise<void> {
  open.splice(open.indexOf(b), 1);
  await b.close();
}

/** Publishes retained r/0 .. r/(n-1) with QoS 1 and waits for each PUBACK. */
async function retained(b: TestBroker, n: number): Promise<void> {
  const { c } = await RawClient.session(b.port, 'pub');
  for (let i = 0; i < n; i++) {
    c.send({ cmd: 'publish', topic: `r/${i}`, payload: `value ${i}`, qos: 1, messageId: i + 1, retain: true });
    expect((await c.next()).cmd).toBe('puback');
  }
  c.end();
}

/** Byte offsets of the records of a file (after its 16-byte header). */
function records(file: string): number[] {
  const b = readFileSync(file);
  const at: number[] = [];
  for (let pos = 16; pos < b.length; pos += 8 + b.readUInt32LE(pos)) at.push(pos);
  return at;
}

function aside(name: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(`${name}.corrupt-`));
}

function topics(b: TestBroker): string[] {
  return [...b.running.broker.retained.matching('#')].map((m) => m.topic).sort();
}

const db = (): string => join(dir, 'midge.db');

describe('damaged snapshot', () => {
  beforeEach(async () => {
    const b = await broker();
    await retained(b, 10);
    await stop(b);
    expect(records(db())).toHaveLength(10);
    lines = [];
  });

  it('truncated: keeps the 9 whole records, moves the file aside, logs it, and saves a clean snapshot', async () => {
    truncateSync(db(), readFileSync(db()).length - 3);
    const b = await broker();
    expect(topics(b)).toEqual(['r/0', 'r/1', 'r/2', 'r/3', 'r/4', 'r/5', 'r/6', 'r/7', 'r/8']);
    expect(aside('midge.db')).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/midge\.db is damaged \(truncated at byte \d+\); kept 9 records, lost the last \d+ bytes; moved to .*midge\.db\.corrupt-\d{8}T\d{6}Z/);
    await stop(b);
    lines = [];
    const again = await broker();
    expect(topics(again)).toHaveLength(9);
    expect(lines.join('\n')).not.toMatch(/damaged/);
  });

  it('one flipped bit in record 5: keeps records 1-4, reports the checksum mismatch', async () => {
    const data = readFileSync(db());
    const fifth = records(db())[4];
    data[fifth + 20] ^= 0x10;
    writeFileSync(db(), data);
    const b = await broker();
    expect(topics(b)).toEqual(['r/0', 'r/1', 'r/2', 'r/3']);
    expect(lines.join('\n')).toMatch(/bad checksum at byte \d+\); kept 4 records/);
    expect(aside('midge.db')).toHaveLength(1);
  });

  it('wrong version: reads nothing, says which version, moves the file aside, starts empty', async () => {
    const data = readFileSync(db());
    data[4] = 9;
    data.writeUInt32LE(crc32(data.subarray(0, 12)), 12);
    writeFileSync(db(), data);
    const b = await broker();
    expect(topics(b)).toEqual([]);
    expect(lines.join('\n')).toMatch(/format version 9, this Midge reads 1 to 2\); lost all \d+ bytes/);
    expect(aside('midge.db')).toHaveLength(1);
    expect(readFileSync(join(dir, aside('midge.db')[0]))).toEqual(data); // moved intact, for inspection
  });

  it('not a Midge file at all (or empty): starts empty and says so', async () => {
    writeFileSync(db(), 'this is not a snapshot');
    const b = await broker();
    expect(topics(b)).toEqual([]);
    expect(lines.join('\n')).toMatch(/bad magic/);
    await stop(b);
    writeFileSync(db(), '');
    const b2 = await broker();
    expect(topics(b2)).toEqual([]);
    expect(lines.join('\n')).toMatch(/0-byte file, shorter than a header/);
  });
});

describe('damaged or stale journal', () => {
  it('a journal cut in its last record keeps the snapshot and every whole journal record', async () => {
    const b = await broker({ persistenceSync: 'always' });
    await retained(b, 5);
    const image = mkdtempSync(join(dir, 'crash-'));
    for (const f of ['midge.db', 'midge.db.journal']) copyFileSync(join(dir, f), join(image, f));
    const j = join(image, 'midge.db.journal');
    expect(records(j)).toHaveLength(5);
    truncateSync(j, readFileSync(j).length - 2);
    const b2 = await broker({ persistenceSync: 'always' }, image);
    expect(topics(b2)).toEqual(['r/0', 'r/1', 'r/2', 'r/3']);
    expect(lines.join('\n')).toMatch(/midge\.db\.journal is damaged .*kept 4 records/);
    expect(readdirSync(image).filter((f) => f.startsWith('midge.db.journal.corrupt-'))).toHaveLength(1);
  });

  it('a journal older than the snapshot (crash between the two renames of a save) is not applied twice', async () => {
    const b = await broker({ persistenceSync: 'always' });
    const { c: sub } = await RawClient.session(b.port, 'sub', { clean: false });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q', qos: 1 }] });
    expect((await sub.next()).cmd).toBe('suback');
    sub.end();
    await sub.closed;
    const { c: pub } = await RawClient.session(b.port, 'pub');
    for (let i = 1; i <= 3; i++) {
      pub.send({ cmd: 'publish', topic: 'q', payload: `m${i}`, qos: 1, messageId: i });
      expect((await pub.next()).cmd).toBe('puback');
    }
    pub.end();
    const oldJournal = readFileSync(join(dir, 'midge.db.journal'));
    await stop(b); // the snapshot now holds the 3 messages, under a newer generation
    writeFileSync(join(dir, 'midge.db.journal'), oldJournal);
    const b2 = await broker({ persistenceSync: 'always' });
    expect(lines.join('\n')).toMatch(/Ignoring .*midge\.db\.journal: generation \d+, the snapshot's is \d+/);
    expect(b2.running.broker.sessions.get('sub')?.queued).toBe(3);
  });
});

describe('record framing', () => {
  it('CRC-32 is the IEEE one, native and table-driven alike (check value of "123456789" is cbf43926)', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check).toString(16)).toBe('cbf43926');
    expect(crc32Table(check).toString(16)).toBe('cbf43926');
    const random = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 255));
    expect(crc32Table(random)).toBe(crc32(random));
  });
});
