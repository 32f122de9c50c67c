// Compile-time flags, profiles and boards: every profile builds for every board, a disabled
// feature leaves none of its code in the bundle, and launchers guard the Node version.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FLAGS, boardNames, buildBundle, buildTarget, loadBoard, loadProfile, profileNames } from '../../scripts/build.mjs';

const exec = promisify(execFile);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-profiles-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Strings that only a feature's own code puts in the bundle (log messages, topic names, module
 * names). Option names are not listed: the config parser keeps the table of every feature's
 * option names so that a compiled-out option can be named (docs/building.md).
 * A feature whose code has not landed yet has no markers; its issue adds them.
 */
const MARKERS: Record<string, string[]> = {
  // '$SYS/broker/${': SYS's topic template; bridges name $SYS/broker/connection/... on their own.
  SYS: ['$SYS/broker/${', 'retained messages/count', 'clients/connected'],
  BRIDGE: ['refused try_private', 'start_type once, not reconnecting', 'no packet from the remote'],
  TLS: ['Reloaded TLS certificates', 'TLS handshake with', 'client certificate without a CN'],
  AUTH: ['bad username or password', 'denied by ACL', 'keeping the previous users and ACL', 'Reenter password', 'channel-binding-not-supported'],
  SN: ['Opening MQTT-SN gateway', 'New MQTT-SN client connected from', 'node:dgram', 'use * for every client'],
  SERIAL: ['Serial links not started', '/sys/class/tty', '$SYS/broker/serial/'],
  // Home Assistant discovery comes with GPIO or SERIAL; every profile has both or neither.
  GPIO: ['GPIO pins not available', 'outputs no longer follow their set topics', 'kernels 6.6+ number sysfs GPIOs', 'birth messages no longer re-announce', 'value_json.value'],
  PERSIST: ['Persistence: restored', '.corrupt-', '.journal'],
  // The status page, the API's paths, the metric names and the write checks.
  HTTP: ['<!doctype html>', '/api/v1/', 'midge_', 'cross-origin write refused', 'text/plain; version=0.0.4'],
  // The GUID every WebSocket handshake hashes (RFC 6455) is in ws's code: ws is bundled with WS only.
  MQTT5: [
    'overlong variable byte integer',
    'empty topic name without a topic alias',
    'expired (session expiry interval)',
    'DISCONNECT sets a session expiry after CONNECT set 0',
    'its maximum packet size',
    'unknown topic alias',
    'No Local on shared subscription',
    'invalid shared subscription',
  ],
  WS: ['MQTT over WebSocket endpoint', '258EAFA5-E914-47DA-95CA-C5AB0DC85B11', 'mqttv3.1'],
};

describe('profiles × boards', () => {
  for (const profile of profileNames()) {
    for (const board of boardNames()) {
      it(`builds profile ${profile} for board ${board}`, async () => {
        const out = join(dir, `${board}-${profile}`);
        const { metafile } = await buildTarget({ profile, board, outDir: out });
        const bundle = readFileSync(join(out, 'broker.min.js'), 'utf8');
        expect(bundle.startsWith('#!/usr/bin/env node')).toBe(true);
        expect(Object.keys(metafile!.outputs)).toHaveLength(1);
        expect(statSync(join(out, 'midge')).mode & 0o111).not.toBe(0);
        const b = loadBoard(board);
        const launcher = readFileSync(join(out, 'midge'), 'utf8');
        for (const f of b.nodeFlags) expect(launcher).toContain(f);
        // It runs: -h answers without starting a broker.
        const { stdout } = await exec(join(out, 'midge'), ['-h']);
        expect(stdout).toContain('Usage: midge');
      });
    }
  }
});

describe('flags remove code', () => {
  for (const profile of profileNames()) {
    it(`profile ${profile}: enabled features are present, disabled ones absent`, async () => {
      const p = loadProfile(profile);
      const outfile = join(dir, 'flags', profile, 'broker.min.js');
      await buildBundle({ outfile, flags: p.flags });
      const bundle = readFileSync(outfile, 'utf8');
      for (const flag of ALL_FLAGS) {
        for (const marker of MARKERS[flag]) {
          if (p.flags.includes(flag)) expect(bundle, `${flag} marker ${marker}`).toContain(marker);
          else expect(bundle, `${flag} marker ${marker}`).not.toContain(marker);
        }
      }
      // Native add-ons are never bundled: at most a run-time require of them remains. (ws is
      // bundled into WS builds; the WS markers above show it is absent from the others.)
      for (const mod of ['serialport', 'onoff']) {
        expect(bundle).not.toMatch(new RegExp(`node_modules/${mod}/`));
      }
    });
  }

  it('the minimal profile refuses an option of a compiled-out feature, naming the feature and a profile', async () => {
    const outfile = join(dir, 'minimal-run', 'broker.min.js');
    await buildBundle({ outfile, flags: loadProfile('minimal').flags });
    const conf = join(dir, 'auth.conf');
    writeFileSync(conf, 'listener 0 127.0.0.1\npassword_file /etc/midge/passwd\n');
    const err = await exec(process.execPath, [outfile, '-c', conf]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain(`${conf}:2:`);
    expect(err?.stderr).toContain('AUTH');
    expect(err?.stderr).toContain("profile 'router'");
  });

  it('a build target older than the code supports fails at build time', async () => {
    // Expected to fail: keep esbuild's error listing out of the test log.
    await expect(buildBundle({ outfile: join(dir, 'old', 'broker.min.js'), target: 'node4', logLevel: 'silent' })).rejects.toThrow(/not supported/);
  });

  it('the launcher refuses a Node older than its board needs', async () => {
    const out = join(dir, 'launcher');
    await buildTarget({ profile: 'minimal', board: 'pi-zero', outDir: out });
    const fakeNode = join(dir, 'old-node');
    writeFileSync(fakeNode, '#!/bin/sh\necho v16.20.2\n');
    chmodSync(fakeNode, 0o755);
    const err = await exec(join(out, 'midge'), ['-h'], { env: { ...process.env, NODE: fakeNode } }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('needs Node.js 18 or newer, found v16.20.2');
  });
});
