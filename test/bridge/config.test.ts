// Parsing of Mosquitto's bridge options into BridgeConfig (BRIDGE is on in the test build).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { ConfigError } from '../../src/config/values.ts';

const F = '/etc/midge.conf';
const parse = (text: string) => parseConfigText(text, F);
function err(text: string): string {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

describe('bridge configuration', () => {
  it('has Mosquitto defaults', () => {
    const [b] = parse('connection cloud\naddress broker.example\ntopic #\n').bridges!;
    expect(b).toMatchObject({
      name: 'cloud', addresses: [{ host: 'broker.example', port: 1883 }], roundRobin: false,
      topics: [{ pattern: '#', direction: 'out', qos: 0, localPrefix: '', remotePrefix: '' }],
      protocolLevel: 4, cleanSession: false, keepalive: 60, restartBase: 5, restartCap: 30, tryPrivate: true,
      notifications: true, notificationsLocalOnly: false, startType: 'automatic', threshold: 10, idleTimeout: 60,
      insecure: false, maxPacketSize: 0, outgoingRetain: true, attemptUnsubscribe: true,
    });
    expect(b.remoteClientId).toBeUndefined();
    expect(b.maxQueued).toBeUndefined();
  });

  it('parses every option of a block, with aliases, and several bridges', () => {
    const c = parse(
      [
        'max_queued_messages 500',
        'connection one',
        'addresses a.example:8883 [::1]:1884 10.0.0.1',
        'round_robin true',
        'topic sensors/# out 1 house/ cloud/house/',
        'topic "" in 2 house/cmd cloud/cmd',
        'topic x/+ both',
        'bridge_protocol_version mqttv31',
        'cleansession true', 'clientid r1', 'local_clientid l1', 'username u', 'password pw',
        'keepalive_interval 30', 'restart_timeout 2 60', 'try_private false', 'notifications false',
        'notifications_local_only true', 'notification_topic state/one', 'start_type lazy', 'threshold 5',
        'idle_timeout 9', 'bridge_cafile /ca.pem', 'bridge_certfile /c.pem', 'bridge_keyfile /k.pem',
        'bridge_insecure true', 'bridge_tls_version tlsv1.3', 'bridge_alpn mqtt', 'bridge_max_packet_size 1000',
        'bridge_outgoing_retain false', 'bridge_attempt_unsubscribe false', 'max_queued_messages 7',
        'connection two', 'address b.example', 'topic # in', 'restart_timeout 3',
        'listener 1883',
        'max_queued_messages 600',
      ].join('\n'),
    );
    expect(c.maxQueuedMessages).toBe(600);
    const [one, two] = c.bridges!;
    expect(one).toMatchObject({
      addresses: [{ host: 'a.example', port: 8883 }, { host: '::1', port: 1884 }, { host: '10.0.0.1', port: 1883 }],
      roundRobin: true,
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'house/', remotePrefix: 'cloud/house/' },
        { pattern: '', direction: 'in', qos: 2, localPrefix: 'house/cmd', remotePrefix: 'cloud/cmd' },
        { pattern: 'x/+', direction: 'both', qos: 0, localPrefix: '', remotePrefix: '' },
      ],
      protocolLevel: 3, cleanSession: true, remoteClientId: 'r1', localClientId: 'l1', remoteUsername: 'u',
      remotePassword: 'pw', keepalive: 30, restartBase: 2, restartCap: 60, tryPrivate: false, notifications: false,
      notificationsLocalOnly: true, notificationTopic: 'state/one', startType: 'lazy', threshold: 5, idleTimeout: 9,
      cafile: '/ca.pem', certfile: '/c.pem', keyfile: '/k.pem', insecure: true, tlsVersion: 'tlsv1.3', alpn: 'mqtt',
      maxPacketSize: 1000, outgoingRetain: false, attemptUnsubscribe: false, maxQueued: 7,
    });
    expect(two).toMatchObject({ name: 'two', restartBase: 3, restartCap: 3, topics: [{ direction: 'in' }] });
  });

  it('TLS options Mosquitto takes without bridge_cafile, bridge_capath, PSK and the MQTT 5 additions of 2.1', () => {
    const b = (lines: string) => parse(`connection a\naddress h\ntopic #\n${lines}`).bridges![0];
    // Without a CA they have no effect (the bridge connects without TLS, as Mosquitto's does).
    expect(b('bridge_insecure true\nbridge_alpn mqtt\nbridge_tls_version tlsv1.2')).toMatchObject({ insecure: true, alpn: 'mqtt', tlsVersion: 'tlsv1.2' });
    expect(b('bridge_capath /etc/ssl/certs\nbridge_require_ocsp false')).toMatchObject({ capath: '/etc/ssl/certs' });
    expect(b('bridge_identity gw-1\nbridge_psk 0123abcd')).toMatchObject({ pskIdentity: 'gw-1', psk: '0123abcd' });
    expect(b('bridge_receive_maximum 10\nbridge_session_expiry_interval 3600')).toMatchObject({ receiveMaximum: 10, sessionExpiry: 3600 });
    expect(b('bridge_session_expiry_interval 0xFFFFFFFF').sessionExpiry).toBe(0xffffffff);
    expect(b('bridge_session_expiry_interval 4294967295').sessionExpiry).toBe(0xffffffff);
  });

  it('reports errors as file:line', () => {
    expect(err('topic #')).toBe(`${F}:1: option 'topic' must follow a 'connection' line (it belongs to a bridge)`);
    expect(err('connection a\naddress h\ntopic #\nlistener 1883\ntopic x')).toBe(
      `${F}:5: option 'topic' must follow a 'connection' line (it belongs to a bridge)`,
    );
    expect(err('connection a\nconnection a')).toBe(`${F}:2: duplicate bridge connection 'a'`);
    expect(err('connection a\ntopic #')).toBe(`${F}:1: bridge 'a' has no 'address'`);
    expect(err('connection a\naddress h')).toBe(`${F}:1: bridge 'a' has no 'topic'`);
    expect(err('connection a\ntopic # sideways')).toBe(`${F}:2: bridge topic direction must be in, out or both, got 'sideways'`);
    expect(err('connection a\ntopic # in 3')).toBe(`${F}:2: option 'topic' is out of range: 3 (allowed 0..2)`);
    expect(err('connection a\ntopic "" in 0')).toBe(`${F}:2: bridge topic "" needs a local and a remote prefix`);
    expect(err('connection a\ntopic # in 0 a/+/ b/')).toBe(`${F}:2: bridge topic prefix 'a/+/' must not contain wildcards`);
    expect(err('connection a\ntopic a# in')).toBe(`${F}:2: invalid bridge topic 'a#'`);
    expect(err('connection a\naddress h:70000')).toBe(`${F}:2: invalid bridge address 'h:70000' (expected host[:port])`);
    expect(parse('connection a\naddress h\ntopic #\nbridge_protocol_version mqttv50').bridges![0].protocolLevel).toBe(5);
    expect(err('connection a\nstart_type sometimes')).toBe(`${F}:2: option 'start_type' needs automatic, lazy or once, got 'sometimes'`);
    expect(err('connection a\nrestart_timeout 10 5')).toBe(`${F}:2: option 'restart_timeout' is out of range: 5 (allowed 10..86400)`);
    expect(err('connection a\naddress h\ntopic #\nbridge_certfile /c')).toBe(`${F}:1: bridge 'a': bridge_certfile and bridge_keyfile go together`);
    expect(err('connection a\naddress h\ntopic #\nbridge_psk 00')).toBe(`${F}:1: bridge 'a': bridge_identity and bridge_psk go together`);
    expect(err('connection a\naddress h\ntopic #\nbridge_identity me\nbridge_psk 0x00')).toBe(`${F}:1: bridge 'a': bridge_psk must be hexadecimal (no 0x), got '0x00'`);
    expect(err('connection a\naddress h\ntopic #\nbridge_identity me\nbridge_psk 00\nbridge_cafile /ca')).toBe(
      `${F}:1: bridge 'a' cannot use both certificate and psk encryption`,
    );
    expect(err('connection a\nbridge_require_ocsp true')).toMatch(/^\/etc\/midge\.conf:2: bridge_require_ocsp true is not supported by Midge: Node cannot verify OCSP responses/);
    expect(err('connection a\nbridge_receive_maximum 0')).toBe(`${F}:2: option 'bridge_receive_maximum' is out of range: 0 (allowed 1..65535)`);
    expect(err('connection a\nbridge_session_expiry_interval -1')).toBe(`${F}:2: option 'bridge_session_expiry_interval' must not be negative, got -1`);
    expect(err('connection a b')).toBe(`${F}:1: too many arguments for option 'connection': 'b'`);
  });
});
