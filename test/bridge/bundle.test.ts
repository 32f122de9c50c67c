// The bundle built with BRIDGE, run as its own process (`node broker.min.js -c FILE`, copied alone
// into an empty directory), bridging to Debian's mosquitto: the CLI path from config file to a
// working link, and a clean stop that tells the remote the link is down.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, spawnProc } from '../helpers/proc.ts';
import { client, endClients, mosquitto } from './helpers.ts';

const peers = requirePeer('mosquitto');

describe.skipIf(!peers)('bundle with BRIDGE', () => {
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    const { buildBundle } = await import('../../scripts/build.mjs');
    dir = mkdtempSync(join(tmpdir(), 'midge-bridge-bundle-'));
    bundle = join(dir, 'broker.min.js');
    await buildBundle({ outfile: bundle, flags: ['BRIDGE'] });
  });
  afterEach(async () => {
    await endClients();
    await killAll();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bridges to mosquitto from a config file and reports state 0 on SIGTERM', async () => {
    const remote = await mosquitto('');
    const onM = await client(remote.port, ['cloud/#', '$SYS/broker/connection/#']);
    const port = await freePort();
    const conf = join(dir, 'midge.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nconnection up\naddress 127.0.0.1:${remote.port}\n` +
        'remote_clientid house\nrestart_timeout 1\ntopic # out 1 house/ cloud/\n',
    );
    const m = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
    await m.waitFor(`Bridge up connected to 127.0.0.1:${remote.port} as house.`, 10_000, 'stderr');
    await onM.state('$SYS/broker/connection/house/state', '1');
    const onMidge = await client(port);
    await onMidge.client.publishAsync('house/kitchen/temp', '21', { qos: 1 });
    await onM.until((all) => all.some((x) => x.topic === 'cloud/kitchen/temp' && x.payload === '21'), 'forwarded message');
    await onMidge.client.endAsync();
    m.kill('SIGTERM');
    expect((await m.exited).code).toBe(0);
    await onM.state('$SYS/broker/connection/house/state', '0');
    await remote.stop();
  });
});
