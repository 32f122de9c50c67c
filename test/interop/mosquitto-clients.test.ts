// Interop with Debian's mosquitto_pub and mosquitto_sub (libmosquitto) against an in-process Midge
// on 127.0.0.1 and an ephemeral port.
//
// A subscriber is known to be subscribed when it prints a retained "ready" marker that was
// published before it started: the broker sends retained messages only after it has processed the
// SUBSCRIBE. Every mosquitto_sub also gets -W so that it exits on its own if a test goes wrong, and
// afterEach kills anything still running.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { mosquittoCli } from '../helpers/mosquitto-cli.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll, run, spawnProc } from '../helpers/proc.ts';

const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');

describe.skipIf(!havePeers)('mosquitto_pub / mosquitto_sub', () => {
  let b: TestBroker;
  const { host, pub, sub } = mosquittoCli(() => b.port);

  beforeEach(async () => {
    b = await startBroker();
  });

  afterEach(async () => {
    await killAll();
    await b.close();
  });


  it("mosquitto_sub -t '#' -v receives what mosquitto_pub -q 0, 1 and 2 sends", async () => {
    const s = await sub('v', '-t', '#', '-v', '-q', '2', '-C', '4');
    await pub('-t', 'home/q0', '-m', 'zero', '-q', '0');
    await pub('-t', 'home/q1', '-m', 'one', '-q', '1');
    await pub('-t', 'home/q2', '-m', 'two', '-q', '2');
    const exit = await s.waitExit();
    expect(exit.code, s.describe()).toBe(0);
    expect(s.stdout).toEqual(['ready/v ready', 'home/q0 zero', 'home/q1 one', 'home/q2 two']);
  });

  it('delivers at the lower of the publish QoS and the subscription QoS [MQTT-3.8.4-6]', async () => {
    const s2 = await sub('s2', '-t', '#', '-q', '2', '-F', '%t|%q|%p', '-C', '4');
    const s1 = await sub('s1', '-t', 'q/#', '-t', 'ready/s1', '-q', '1', '-F', '%t|%q|%p', '-C', '4');
    for (const q of ['0', '1', '2']) await pub('-t', `q/${q}`, '-m', `m${q}`, '-q', q);
    expect((await s2.waitExit()).code, s2.describe()).toBe(0);
    expect((await s1.waitExit()).code, s1.describe()).toBe(0);
    // s2 also saw the retained ready/s1 marker published after it subscribed.
    expect(s2.stdout).toEqual(['ready/s2|1|ready', 'ready/s1|1|ready', 'q/0|0|m0', 'q/1|1|m1']);
    expect(s1.stdout).toEqual(['ready/s1|1|ready', 'q/0|0|m0', 'q/1|1|m1', 'q/2|1|m2']);
  });

  it('a message published with -r reaches a later mosquitto_sub -C 1 with the retain flag', async () => {
    await pub('-t', 'house/temp', '-m', '21.5', '-r', '-q', '1');
    const late = await run('mosquitto_sub', [...host(), '-t', 'house/+', '-F', '%t|%r|%p', '-C', '1', '-W', '10']);
    expect(late.exit.code, late.describe()).toBe(0);
    expect(late.stdout).toEqual(['house/temp|1|21.5']);

    // A retained message with an empty payload (-n) clears it: the next subscriber gets only the
    // marker published afterwards.
    await pub('-t', 'house/temp', '-n', '-r', '-q', '1');
    await pub('-t', 'house/after', '-m', 'x', '-r', '-q', '1');
    const later = await run('mosquitto_sub', [...host(), '-t', 'house/+', '-F', '%t|%r|%p', '-C', '1', '-W', '10']);
    expect(later.exit.code, later.describe()).toBe(0);
    expect(later.stdout).toEqual(['house/after|1|x']);
  });

  describe.each([
    ['mqttv31', 'mqttv31'],
    ['mqttv311', 'mqttv311'],
    ['mqttv31', 'mqttv311'],
    ['mqttv311', 'mqttv31'],
  ])('publisher -V %s, subscriber -V %s', (pubV, subV) => {
    it('delivers QoS 0, 1 and 2', async () => {
      // MQTT 3.1 needs a client id of 1 to 23 characters; give both sides one.
      const s = await sub('p', '-V', subV, '-i', `sub-${subV}`, '-t', '#', '-q', '2', '-F', '%t|%q|%p', '-C', '4');
      for (const q of ['0', '1', '2']) await pub('-V', pubV, '-i', `pub-${pubV}`, '-t', `v/${q}`, '-m', `${pubV}-${q}`, '-q', q);
      expect((await s.waitExit()).code, s.describe()).toBe(0);
      expect(s.stdout).toEqual(['ready/p|1|ready', `v/0|0|${pubV}-0`, `v/1|1|${pubV}-1`, `v/2|2|${pubV}-2`]);
    });
  });

  it('MQTT 3.1 client ids: the generated one is accepted, 24 characters are refused (CONNACK 2)', async () => {
    // Without -i, libmosquitto generates a 22-character id for MQTT 3.1 (and sends an empty one
    // for 3.1.1, which the other tests here use).
    const ok = await run('mosquitto_pub', [...host(), '-V', 'mqttv31', '-t', 't', '-m', 'x', '-q', '1']);
    expect(ok.exit.code, ok.describe()).toBe(0);
    // MQTT 3.1 allows 1 to 23 characters.
    const long = await run('mosquitto_pub', [...host(), '-V', 'mqttv31', '-i', 'x'.repeat(24), '-t', 't', '-m', 'x']);
    expect(long.exit.code, long.describe()).not.toBe(0);
    expect(long.stderr.join('\n'), long.describe()).toMatch(/identifier rejected/i);
  });

  it('publishes the will of a mosquitto_sub killed with SIGKILL to another subscriber', async () => {
    const watcher = await sub('w', '-t', 'will/#', '-t', 'ready/w', '-v', '-q', '1', '-C', '2');
    const doomed = await sub(
      'doomed',
      '-i', 'doomed-sub',
      '-t', 'ready/doomed',
      '--will-topic', 'will/doomed-sub',
      '--will-payload', 'gone',
      '--will-qos', '1',
      '-v',
    );
    doomed.kill('SIGKILL');
    expect((await doomed.waitExit()).signal).toBe('SIGKILL');
    await watcher.waitFor('will/doomed-sub gone');
    expect((await watcher.waitExit()).code, watcher.describe()).toBe(0);
    expect(watcher.stdout).toEqual(['ready/w ready', 'will/doomed-sub gone']);
  });

  it('does not publish the will of a client that disconnects normally [MQTT-3.14.4-3]', async () => {
    const watcher = await sub('w', '-t', 'will/#', '-t', 'ready/w', '-t', 'done', '-v', '-q', '1', '-C', '2');
    // mosquitto_sub -C 1 exits after the marker with a DISCONNECT.
    const polite = await sub('polite', '-i', 'polite-sub', '-t', 'ready/polite', '--will-topic', 'will/polite', '--will-payload', 'gone', '-C', '1', '-v');
    expect((await polite.waitExit()).code, polite.describe()).toBe(0);
    // Messages from one connection are handled in order, so the DISCONNECT is handled (or not)
    // before the socket closes; a later message from a new connection marks the point by which a
    // will would have been published.
    await pub('-t', 'done', '-m', 'end', '-q', '1');
    expect((await watcher.waitExit()).code, watcher.describe()).toBe(0);
    expect(watcher.stdout).toEqual(['ready/w ready', 'done end']);
  });

  it('a persistent session (-i with -c) receives the QoS 1 messages queued while it was offline', async () => {
    const id = 'persistent-sub';
    const first = await sub('persist', '-i', id, '-c', '-q', '1', '-t', 'p/#', '-t', 'ready/persist', '-v', '-C', '1');
    expect((await first.waitExit()).code, first.describe()).toBe(0);

    await pub('-t', 'p/1', '-m', 'one', '-q', '1');
    // QoS 0 messages are not queued for an offline session (as in Mosquitto's default).
    await pub('-t', 'p/2', '-m', 'two', '-q', '0');
    await pub('-t', 'p/3', '-m', 'three', '-q', '1');
    await pub('-t', 'p/4', '-m', 'four', '-q', '2');

    // The session's subscriptions survive: the second run receives the queued messages after
    // CONNACK, before its own SUBSCRIBE is answered.
    const second = spawnProc('mosquitto_sub', [...host(), '-W', '15', '-i', id, '-c', '-q', '1', '-t', 'p/#', '-v', '-C', '3']);
    expect((await second.waitExit()).code, second.describe()).toBe(0);
    expect(second.stdout).toEqual(['p/1 one', 'p/3 three', 'p/4 four']);

    // Connecting once with a clean session discards the stored session: a message published
    // afterwards is not queued, so the next persistent connection prints its own marker first
    // (queued messages would come right after CONNACK, before the retained marker).
    await pub('-i', id, '-t', 'other', '-m', 'x');
    await pub('-t', 'p/5', '-m', 'five', '-q', '1');
    const third = await sub('third', '-i', id, '-c', '-q', '1', '-t', 'ready/third', '-v', '-C', '1');
    expect((await third.waitExit()).code, third.describe()).toBe(0);
    expect(third.stdout).toEqual(['ready/third ready']);
  });
});
