// Hand-written packets (hex) with the objects they decode to. decoder.test.ts decodes them,
// encoder.test.ts re-encodes them byte-exactly.

import type { Packet } from '../../src/codec/packets.ts';

/** Hex with spaces and // comments allowed. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\/\/.*$/gm, '').replace(/\s+/g, ''), 'hex');
/** Hex of a length-prefixed UTF-8 string. */
export const str = (s: string): string => {
  const b = Buffer.from(s, 'utf8');
  return b.length.toString(16).padStart(4, '0') + b.toString('hex');
};

export const MQTT = '0004 4d515454'; // "MQTT"
export const MQISDP = '0006 4d5149736470'; // "MQIsdp"

export const VECTORS: [string, string, Packet][] = [
  [
    'CONNECT 3.1.1 minimal',
    `10 0d ${MQTT} 04 02 003c 0001 61`,
    { type: 1, protocolName: 'MQTT', protocolLevel: 4, clean: true, keepalive: 60, clientId: 'a' },
  ],
  [
    'CONNECT 3.1.1 empty client id',
    `10 0c ${MQTT} 04 02 0000 0000`,
    { type: 1, protocolName: 'MQTT', protocolLevel: 4, clean: true, keepalive: 0, clientId: '' },
  ],
  [
    'CONNECT 3.1.1 with will, username and password',
    // flags: username 80 | password 40 | will retain 20 | will QoS 1 08 | will 04 | clean 02
    `10 20 ${MQTT} 04 ee 000a  0003 636964  0003 772f74  0003 627965  0001 75  0002 0102`,
    {
      type: 1,
      protocolName: 'MQTT',
      protocolLevel: 4,
      clean: true,
      keepalive: 10,
      clientId: 'cid',
      will: { topic: 'w/t', payload: Buffer.from('bye'), qos: 1, retain: true },
      username: 'u',
      password: Buffer.from([1, 2]),
    },
  ],
  [
    'CONNECT 3.1 (MQIsdp)',
    `10 11 ${MQISDP} 03 00 003c 0003 636964`,
    { type: 1, protocolName: 'MQIsdp', protocolLevel: 3, clean: false, keepalive: 60, clientId: 'cid' },
  ],
  ['CONNACK session present', '20 02 01 00', { type: 2, sessionPresent: true, returnCode: 0 }],
  ['CONNACK refused', '20 02 00 05', { type: 2, sessionPresent: false, returnCode: 5 }],
  [
    'PUBLISH QoS 0',
    '30 07 0003 612f62 6869',
    { type: 3, dup: false, qos: 0, retain: false, topic: 'a/b', packetId: 0, payload: Buffer.from('hi') },
  ],
  [
    'PUBLISH QoS 1 dup retain',
    '3b 09 0003 612f62 0007 6869',
    { type: 3, dup: true, qos: 1, retain: true, topic: 'a/b', packetId: 7, payload: Buffer.from('hi') },
  ],
  [
    'PUBLISH QoS 2 empty payload, multi-byte topic',
    `34 ${(2 + 6 + 2).toString(16).padStart(2, '0')} ${str('é/€')} ffff`,
    { type: 3, dup: false, qos: 2, retain: false, topic: 'é/€', packetId: 0xffff, payload: Buffer.alloc(0) },
  ],
  ['PUBACK', '40 02 0001', { type: 4, packetId: 1 }],
  ['PUBREC', '50 02 0102', { type: 5, packetId: 0x102 }],
  ['PUBREL', '62 02 ff00', { type: 6, packetId: 0xff00 }],
  ['PUBCOMP', '70 02 0003', { type: 7, packetId: 3 }],
  [
    'SUBSCRIBE',
    '82 0c 000a 0003 612f23 01 0001 2b 02',
    { type: 8, packetId: 10, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: '+', qos: 2 }] },
  ],
  ['SUBACK', '90 05 000a 00 01 80', { type: 9, packetId: 10, granted: [0, 1, 0x80] }],
  ['UNSUBSCRIBE', 'a2 09 000b 0001 61 0002 622f', { type: 10, packetId: 11, topics: ['a', 'b/'] }],
  ['UNSUBACK', 'b0 02 000b', { type: 11, packetId: 11 }],
  ['PINGREQ', 'c0 00', { type: 12 }],
  ['PINGRESP', 'd0 00', { type: 13 }],
  ['DISCONNECT', 'e0 00', { type: 14 }],
];
