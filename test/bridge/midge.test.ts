// Bridges between in-process Midge brokers (MQTT.js clients on both ends): remapping with prefixes,
// notifications, loop prevention, queueing while the remote is unreachable, and link resilience.
// Absence of duplicates is shown by order: a later "end" message from the same publisher arrives
// after any duplicate of an earlier one would have.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/util/log.ts';
import { freePort } from '../helpers/ports.ts';
import { client, crossed, endClients, midge, Proxy, type Midge } from './helpers.ts';

const open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}
const proxies: Proxy[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await endClients();
  for (const x of open.splice(0).reverse()) await x.close();
  for (const p of proxies.splice(0)) await p.down();
});

const STATE = '$SYS/broker/connection/a-to-b/state';

function bridgeConf(port: number, topics: string, extra = ''): string {
  return `connection toB\naddress 127.0.0.1:${port}\nremote_clientid a-to-b\nrestart_timeout 1\nkeepalive_interval 2\n${topics}\n${extra}`;
}

/** Log lines written while `fn` runs are collected in the returned array. */
function captureLog(): string[] {
  const lines: string[] = [];
  vi.spyOn(log, 'write').mockImplementation((_t, msg) => {
    lines.push(msg);
  });
  return lines;
}

describe('Midge to Midge', () => {
  it('forwards out and in with prefixes both ways, keeps QoS and RETAIN, and sets the state notification', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['cloud/#', '$SYS/broker/connection/#']);
    const a = track(
      await midge(bridgeConf(b.port, 'topic # out 1 house/ cloud/house/\ntopic cmd/# in 1 house/ cloud/house/')),
    );
    await onB.state(STATE, '1');
    const onA = await client(a.port, ['house/#', '$SYS/broker/connection/#']);
    await onA.state(STATE, '1');

    await onA.client.publishAsync('house/kitchen/temp', '21.5', { qos: 1, retain: true });
    await onA.client.publishAsync('house/hall/light', 'on', { qos: 0 });
    await onA.client.publishAsync('garden/x', 'not bridged', { qos: 1 });
    await onB.client.publishAsync('cloud/house/cmd/heating', 'off', { qos: 1 });
    await onB.client.publishAsync('cloud/other', 'not bridged', { qos: 1 });
    await onB.client.publishAsync('cloud/house/cmd/end', 'x', { qos: 1 });
    await onA.until((m) => m.some((x) => x.topic === 'house/cmd/end'), 'cmd end on A');
    await onA.client.publishAsync('house/end', 'x', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'cloud/house/end'), 'end on B');

    const t = onB.on('cloud/house/kitchen/temp');
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ payload: '21.5', qos: 1 });
    expect(onB.on('cloud/house/hall/light')).toMatchObject([{ payload: 'on', qos: 0 }]);
    expect(onB.all.filter((m) => m.payload === 'not bridged').map((m) => m.topic)).toEqual(['cloud/other']); // its own
    expect(onA.on('house/cmd/heating')).toMatchObject([{ payload: 'off', qos: 1 }]);
    expect(onA.all.some((m) => m.payload === 'not bridged')).toBe(false);
    // The command came in through the bridge and matched its `out` line: not sent back.
    expect(onB.on('cloud/house/cmd/heating')).toHaveLength(1);
    // The bridge kept RETAIN as published (like Mosquitto's): B stored the message.
    const late = await client(b.port, ['cloud/house/kitchen/temp']);
    await late.until((m) => m.length === 1, 'retained on B');
    expect(late.all[0]).toMatchObject({ payload: '21.5', retain: true });

    // Stopping A: the remote sees state 0 (sent on a clean stop; the will covers a crash).
    await a.close();
    await onB.state(STATE, '0');
  });

  it('loop test: two brokers bridged both ways on # deliver each message exactly once', async () => {
    const b = track(await midge());
    const a = track(await midge(bridgeConf(b.port, 'topic # both 1', 'notifications false')));
    const onB = await client(b.port, ['#']);
    const onA = await client(a.port, ['#']);
    await crossed(onA, onB);
    const N = 50;
    for (let i = 0; i < N; i++) {
      await onA.client.publishAsync(`fromA/${i}`, String(i), { qos: 1 });
      await onB.client.publishAsync(`fromB/${i}`, String(i), { qos: i % 2 ? 1 : 0 });
    }
    await onA.client.publishAsync('endA', 'x', { qos: 1 });
    await onB.client.publishAsync('endB', 'x', { qos: 1 });
    for (const box of [onA, onB]) {
      await box.until((m) => m.some((x) => x.topic === 'endA') && m.some((x) => x.topic === 'endB'), 'both ends');
    }
    // Let any echo that a loop would produce cross the link once more.
    await onA.client.publishAsync('endA2', 'x', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'endA2'), 'endA2');
    await onB.client.publishAsync('endB2', 'x', { qos: 1 });
    await onA.until((m) => m.some((x) => x.topic === 'endB2'), 'endB2');
    for (const box of [onA, onB]) {
      const counts = new Map<string, number>();
      for (const m of box.all) if (m.topic !== 'probe') counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
      for (let i = 0; i < N; i++) {
        expect(counts.get(`fromA/${i}`), `fromA/${i}`).toBe(1);
        expect(counts.get(`fromB/${i}`), `fromB/${i}`).toBe(1);
      }
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    }
  });
});

describe('origin tracking', () => {
  it('without try_private the remote echoes once, and the echo is not sent out again (no loop)', async () => {
    const b = track(await midge());
    const a = track(await midge(bridgeConf(b.port, 'topic # both 1', 'notifications false\ntry_private false')));
    const onB = await client(b.port, ['#']);
    const onA = await client(a.port, ['#']);
    await crossed(onA, onB);
    await onA.client.publishAsync('once', 'x', { qos: 1 });
    // Two more round trips through both brokers: a loop would have shown by then.
    for (const end of ['end1', 'end2']) {
      await onA.client.publishAsync(end, 'x', { qos: 1 });
      await onB.until((m) => m.some((x) => x.topic === end), end);
      await onA.until((m) => m.filter((x) => x.topic === end).length === 2, `${end} echoed`);
    }
    expect(onB.on('once')).toHaveLength(1);
    // B is not told the link is a bridge, so it echoes; A delivers the echo locally (docs/bridges.md).
    expect(onA.on('once')).toHaveLength(2);
  });
});

describe('bridge_max_packet_size', () => {
  it('drops larger outgoing messages, counted, without blocking the in-flight window', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#'], 2);
    captureLog();
    const a = track(
      await midge(bridgeConf(b.port, 'topic data/# out 2', 'bridge_max_packet_size 100\nnotifications false'), 0, { maxInflightMessages: 1 }),
    );
    const onA = await client(a.port);
    const big = 'x'.repeat(200);
    await onA.client.publishAsync('data/big2', big, { qos: 2 });
    await onA.client.publishAsync('data/big1', big, { qos: 1 });
    await onA.client.publishAsync('data/big0', big, { qos: 0 });
    await onA.client.publishAsync('data/small', 'ok', { qos: 2 });
    await onA.client.publishAsync('data/small1', 'ok', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'data/small1'), 'small messages', 15_000);
    expect(onB.all.map((m) => m.topic)).toEqual(['data/small', 'data/small1']);
    expect(a.running.broker.stats.messagesDropped).toBe(3);
  });
});

describe('queueing while the remote is down', () => {
  it('QoS 1 messages published while the remote is unreachable all arrive once it is back', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#']);
    const proxy = await Proxy.create(b.port);
    proxies.push(proxy);
    await proxy.down();
    const lines = captureLog();
    const a = track(await midge(bridgeConf(proxy.port, 'topic data/# out 1')));
    const onA = await client(a.port);
    const N = 200;
    for (let i = 0; i < N; i++) await onA.client.publishAsync(`data/${i}`, String(i), { qos: 1 });
    expect(onB.all).toHaveLength(0);
    await proxy.up();
    await onB.until((m) => m.length >= N, `${N} messages`, 15_000);
    await onA.client.publishAsync('data/end', 'x', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'data/end'), 'end');
    const got = onB.all.filter((m) => m.topic !== 'data/end').map((m) => Number(m.payload));
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i)); // all, once each, in order
    expect(a.running.broker.stats.messagesDropped).toBe(0);
    // Refused while down: one warning, not one per attempt.
    expect(lines.filter((l) => l.includes('cannot connect'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('Bridge toB connected'))).toBe(true);
  });

  it("the queue is bounded by the bridge's max_queued_messages and drops are counted", async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#']);
    const proxy = await Proxy.create(b.port);
    proxies.push(proxy);
    await proxy.down();
    captureLog();
    const a = track(await midge(bridgeConf(proxy.port, 'topic data/# out 1', 'max_queued_messages 10\nnotifications false')));
    const onA = await client(a.port);
    for (let i = 0; i < 30; i++) await onA.client.publishAsync(`data/${i}`, String(i), { qos: 1 });
    expect(a.running.broker.stats.messagesDropped).toBe(20);
    await proxy.up();
    await onB.until((m) => m.length === 10, 'the queued ten', 15_000);
    await onA.client.publishAsync('data/end', 'x', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'data/end'), 'end');
    expect(onB.all.map((m) => m.payload)).toEqual([...Array.from({ length: 10 }, (_, i) => String(i)), 'x']);
  });
});

describe('link resilience', () => {
  it('a half-open link is detected by keep-alive; the unacknowledged message is resent after reconnecting', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#', '$SYS/broker/connection/#']);
    const proxy = await Proxy.create(b.port);
    proxies.push(proxy);
    const lines = captureLog();
    const a = track(await midge(bridgeConf(proxy.port, 'topic data/# out 1')));
    await onB.state(STATE, '1');
    const onA = await client(a.port);
    proxy.freeze();
    await onA.client.publishAsync('data/lost-in-transit', '1', { qos: 1 });
    // Keep-alive 2 s: no PINGRESP for 3 s ends the link; restart_timeout 1 brings it back.
    await onB.until((m) => m.some((x) => x.topic === 'data/lost-in-transit'), 'resent message', 15_000);
    expect(lines.some((l) => /connection to .* lost: no packet from the remote for 3 s \(keep-alive\)/.test(l))).toBe(true);
    expect(proxy.accepted).toBe(2);
    await onA.client.publishAsync('data/end', 'x', { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === 'data/end'), 'end');
    expect(onB.on('data/lost-in-transit')).toHaveLength(1);
  });

  it('fails over from an unresolvable and a refusing address to a working one, logging each once, without a tight loop', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#']);
    const refused = await freePort();
    const lines = captureLog();
    const a = track(
      await midge(
        `connection toB\naddress no-such-host.invalid:1883 127.0.0.1:${refused} 127.0.0.1:${b.port}\nrestart_timeout 1\ntopic data/# out 1\nnotifications false`,
      ),
    );
    const onA = await client(a.port);
    await onA.client.publishAsync('data/x', '1', { qos: 1 });
    await onB.until((m) => m.length === 1, 'message via the third address', 15_000);
    expect(lines.filter((l) => l.includes('DNS lookup of no-such-host.invalid failed'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(`127.0.0.1:${refused}: connection refused`))).toHaveLength(1);
    expect(lines.some((l) => l.includes(`connected to 127.0.0.1:${b.port}`))).toBe(true);
  });

  it('round_robin false: moves back to the first address once it is reachable again', async () => {
    const b1 = track(await midge());
    const b2 = track(await midge());
    const on1 = await client(b1.port, ['data/#']);
    const proxy = await Proxy.create(b1.port);
    proxies.push(proxy);
    await proxy.down();
    const lines = captureLog();
    const a = track(
      await midge(`connection toB\naddress 127.0.0.1:${proxy.port} 127.0.0.1:${b2.port}\nrestart_timeout 1\nnotifications false\ntopic data/# out 1`),
    );
    await vi.waitFor(() => expect(lines.some((l) => l.includes(`connected to 127.0.0.1:${b2.port}`))).toBe(true), { timeout: 10_000 });
    await proxy.up();
    await vi.waitFor(() => expect(lines.some((l) => l.includes(`connected to 127.0.0.1:${proxy.port}`))).toBe(true), { timeout: 10_000 });
    expect(lines.some((l) => l.includes('reachable again; moving back to it'))).toBe(true);
    const onA = await client(a.port);
    await onA.client.publishAsync('data/x', '1', { qos: 1 });
    await on1.until((m) => m.length === 1, 'message via the first address');
  });

  it('retries a dead remote with backoff (no tight loop) and never crashes', async () => {
    // A remote that accepts and hangs up at once, counting attempts.
    const net = await import('node:net');
    let attempts = 0;
    const srv = net.createServer((s) => {
      attempts++;
      s.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    track({ close: () => new Promise<void>((r) => srv.close(() => r())) });
    const lines = captureLog();
    const port = (srv.address() as { port: number }).port;
    track(await midge(`connection dead\naddress 127.0.0.1:${port}\nrestart_timeout 1 2\ntopic # out`));
    const t0 = Date.now();
    await vi.waitFor(() => expect(attempts).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 100 });
    // Delays of 1 to 2 s between attempts: 3 attempts take at least 2 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(lines.filter((l) => l.includes('cannot connect'))).toHaveLength(1);
  });

  it('reconnects after the remote restarts, and the state notification follows', async () => {
    const port = await freePort();
    let b: Midge = await midge('', port);
    const a = track(await midge(bridgeConf(port, 'topic data/# out 1')));
    const onA = await client(a.port, ['$SYS/broker/connection/#']);
    await onA.state(STATE, '1');
    await b.close();
    await onA.state(STATE, '0');
    b = track(await midge('', port));
    await onA.state(STATE, '1');
    const onB = await client(b.port, ['data/#']);
    await onA.client.publishAsync('data/after', 'x', { qos: 1 });
    await onB.until((m) => m.length === 1, 'message after restart');
  });
});

describe('start_type', () => {
  it('lazy connects once threshold messages wait and disconnects after idle_timeout', async () => {
    const b = track(await midge());
    const onB = await client(b.port, ['data/#', '$SYS/broker/connection/#']);
    const a = track(await midge(bridgeConf(b.port, 'topic data/# out 1', 'start_type lazy\nthreshold 3\nidle_timeout 1')));
    const onA = await client(a.port);
    await onA.client.publishAsync('data/1', '1', { qos: 1 });
    await onA.client.publishAsync('data/2', '2', { qos: 1 });
    expect(onB.on(STATE)).toHaveLength(0); // below the threshold: not connected
    await onA.client.publishAsync('data/3', '3', { qos: 1 });
    await onB.until((m) => m.filter((x) => x.topic.startsWith('data/')).length === 3, 'three messages');
    await onB.state(STATE, '0', 10_000); // idle: disconnected cleanly
  });

  it('once does not reconnect after the link is lost', async () => {
    const port = await freePort();
    const b = await midge('', port);
    const lines = captureLog();
    const a = track(await midge(bridgeConf(port, 'topic data/# out 1', 'start_type once')));
    const onA = await client(a.port, ['$SYS/broker/connection/#']);
    await onA.state(STATE, '1');
    await b.close();
    await onA.state(STATE, '0');
    await vi.waitFor(() => expect(lines.some((l) => l.includes('start_type once, not reconnecting'))).toBe(true));
  });
});
