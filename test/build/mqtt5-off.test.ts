// A build without MQTT5 (the minimal profile's flags) still answers a level 5 CONNECT with the
// 3.1.1 CONNACK 1 [MQTT-3.1.2-2], as before MQTT 5 existed; with MQTT5 the same bytes connect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Codec from '../../src/codec/index.ts';
import { importWithFlags } from '../helpers/bundled.ts';

const dir = mkdtempSync(join(tmpdir(), 'midge-mqtt5-off-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// MQTT 5 CONNECT, client id "a", Receive Maximum 5 in the properties.
const CONNECT5 = Buffer.from('10 11 0004 4d515454 05 02 003c 03 210005 0001 61'.replace(/ /g, ''), 'hex');

describe('MQTT5 flag off', () => {
  it('[MQTT-3.1.2-2] the decoder asks for CONNACK 1 on a level 5 CONNECT', async () => {
    const codec = await importWithFlags<typeof Codec>(new URL('../../src/codec/index.ts', import.meta.url), [], dir);
    const errors: Codec.ProtocolError[] = [];
    const d = new codec.Decoder(() => {}, (e) => errors.push(e));
    d.push(CONNECT5);
    expect(errors.map((e) => [e.rule, e.connackCode])).toEqual([['MQTT-3.1.2-2', 1]]);
  });

  it('with MQTT5 on, the same CONNECT decodes', async () => {
    const codec = await importWithFlags<typeof Codec>(new URL('../../src/codec/index.ts', import.meta.url), ['MQTT5'], dir);
    const packets: unknown[] = [];
    new codec.Decoder((p) => packets.push(p), (e) => { throw e; }).push(CONNECT5);
    expect(packets).toMatchObject([{ type: 1, protocolLevel: 5, properties: { receiveMaximum: 5 } }]);
  });
});
