// Memory per board: each board's launcher (its Node flags, its default profile) serves 200
// subscribed clients and a fan-out of traffic, and its peak RSS stays under the board's budget.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardNames, buildTarget, loadBoard } from '../../scripts/build.mjs';
import { encode } from '../../src/codec/encoder.ts';
import { freePort } from '../helpers/ports.ts';

const CLIENTS = 200;
const MESSAGES = 100;
const PAYLOAD = Buffer.alloc(64, 0x61);
// PUBLISH 'mem/all' QoS 0 with 64 bytes: 2 header + 2 + 7 + 64.
const PUBLISH_BYTES = 75;
// CONNACK (4) + SUBACK with two filters (6).
const SETUP_BYTES = 10;

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-memory-'));
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves once something accepts connections on `port` (polled: a spawned process has no event to await). */
function listening(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const tryConnect = (left: number): void => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => (left > 0 ? setTimeout(() => tryConnect(left - 1), 50) : reject(new Error('broker did not start'))));
    };
    tryConnect(200);
  });
}

function vm(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return Number(m![1]);
}

/** Opens a client, sends `first`, resolves once `expectBytes` bytes came back; counts later bytes. */
function client(port: number, first: Buffer, expectBytes: number): Promise<{ socket: net.Socket; received: () => number; until: (n: number) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = 0;
    let want = expectBytes;
    let wake: (() => void) | undefined;
    socket.on('error', reject);
    socket.on('data', (d) => {
      got += d.length;
      if (got >= want) wake?.();
    });
    const until = (n: number) =>
      new Promise<void>((r) => {
        want = n;
        if (got >= n) r();
        else wake = r;
      });
    socket.once('connect', () => {
      socket.write(first);
      void until(expectBytes).then(() => resolve({ socket, received: () => got, until }));
    });
  });
}

describe('resident memory per board (200 clients)', () => {
  for (const boardName of boardNames()) {
    it(`${boardName}: peak RSS stays under the board's budget`, async () => {
      const board = loadBoard(boardName);
      const out = join(dir, boardName);
      await buildTarget({ board: boardName, profile: board.profile, outDir: out });
      const port = await freePort();
      const conf = join(out, 'midge.conf');
      writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_type error\n`);
      const child = spawn(join(out, 'midge'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      // Started when it accepts a connection; the launcher execs node, so the pid is the broker's.
      await listening(port);
      const idleKb = vm(child.pid!, 'VmRSS');
      const clients = [];
      for (let i = 0; i < CLIENTS; i++) {
        const setup = Buffer.concat([
          encode({ type: 1, protocolName: 'MQTT', protocolLevel: 4, clean: true, keepalive: 0, clientId: `mem-${i}` }),
          encode({ type: 8, packetId: 1, subscriptions: [{ topic: `mem/${i}`, qos: 1 }, { topic: 'mem/all', qos: 0 }] }),
        ]);
        clients.push(await client(port, setup, SETUP_BYTES));
      }
      const pub = await client(port, encode({ type: 1, protocolName: 'MQTT', protocolLevel: 4, clean: true, keepalive: 0, clientId: 'mem-pub' }), 4);
      const publish = encode({ type: 3, dup: false, qos: 0, retain: false, topic: 'mem/all', packetId: 0, payload: PAYLOAD });
      for (let i = 0; i < MESSAGES; i++) pub.socket.write(publish);
      await Promise.all(clients.map((c) => c.until(SETUP_BYTES + MESSAGES * PUBLISH_BYTES)));
      const rssKb = vm(child.pid!, 'VmRSS');
      const peakKb = vm(child.pid!, 'VmHWM');
      console.log(
        `[memory] ${boardName} (${board.profile}, ${board.nodeFlags.join(' ') || 'no flags'}): idle ${Math.round(idleKb / 1024)} MB, ` +
          `200 clients after ${CLIENTS * MESSAGES} deliveries ${Math.round(rssKb / 1024)} MB, peak ${Math.round(peakKb / 1024)} MB, ` +
          `budget ${board.rssBudgetMB} MB, ${Math.round((rssKb - idleKb) / CLIENTS)} KiB per client`,
      );
      expect(peakKb / 1024).toBeLessThan(board.rssBudgetMB);
      for (const c of [...clients, pub]) c.socket.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }, 60_000);
  }
});

describe('resident memory under QoS 1 floods (pi-zero)', () => {
  it('4 publishers × 100 in flight into a slow and a stuck subscriber: nothing acknowledged is lost, peak RSS under the budget', async () => {
    const { pacedPublish, subscriber } = await import('../helpers/load.ts');
    const board = loadBoard('pi-zero');
    const out = join(dir, 'pi-zero-flood');
    await buildTarget({ board: 'pi-zero', profile: board.profile, outDir: out });
    const port = await freePort();
    const conf = join(out, 'midge.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_type error\nsubscriber_stall_timeout 2\n`);
    const child = spawn(join(out, 'midge'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    await listening(port);
    const slow = await subscriber(port, 'slow', 'flood/#', 1, { ackDelay: 1 });
    // A hung client: it stalls, stops pacing after 2 s, and its queue drops past 1000.
    const stuck = await subscriber(port, 'stuck', 'flood/#', 1, { ackDelay: -1 });
    const ids = ['f0', 'f1', 'f2', 'f3'];
    const N = 5000;
    const results = await Promise.all(ids.map((id) => pacedPublish(port, id, `flood/${id}`, N, 1, { ms: 45_000 })));
    const acked = results.reduce((n, r) => n + r.acked.size, 0);
    await slow.until(acked, 30_000);
    for (let i = 0; i < ids.length; i++) {
      const got = new Set(slow.got.get(ids[i]));
      for (const seq of results[i].acked) expect(got.has(seq)).toBe(true);
    }
    const peakKb = vm(child.pid!, 'VmHWM');
    console.log(`[memory] pi-zero QoS 1 flood: ${acked} acknowledged and delivered to the slow subscriber, peak ${Math.round(peakKb / 1024)} MB, budget ${board.rssBudgetMB} MB`);
    expect(acked).toBe(ids.length * N);
    expect(peakKb / 1024).toBeLessThan(board.rssBudgetMB);
    slow.close();
    stuck.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 90_000);
});
