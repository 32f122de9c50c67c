// The features' option tables take their names from src/config/features.ts in order (byName in
// src/config/values.ts). Each case here sets one such option and finds the value in its field, so a
// names list reordered without its table (or the other way round) fails here, naming the option.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURES, type FeatureName } from '../../src/config/features.ts';
import { parseConfigText } from '../../src/config/parse.ts';
import type { BrokerConfig } from '../../src/config/types.ts';

const parse = (text: string): BrokerConfig => parseConfigText(text, '/etc/midge.conf');

/** [option, value in the file, field, value read] in the order of the feature's names. */
type Case = [option: string, word: string, field: string, value: unknown];

const bool = (option: string, field: string, value = true): Case => [option, String(value), field, value];
const word = (option: string, field: string, w: string): Case => [option, w, field, w];
const int = (option: string, field: string, n: number): Case => [option, String(n), field, n];

/** Each feature's table, and the config text around one of its options: [feature, list, cases, where the fields are]. */
const TABLES: [FeatureName, 'options' | 'listenerOptions', Case[], (line: string) => Record<string, unknown>][] = [
  [
    'SN',
    'listenerOptions',
    [int('advertise_interval', 'advertiseInterval', 7), int('gateway_id', 'gatewayId', 9), int('sn_max_clients', 'maxClients', 11)],
    (line) => ({ ...parse(`listener 1884\nprotocol mqttsn\n${line}`).listeners[0].sn }),
  ],
  [
    'TLS',
    'listenerOptions',
    [
      bool('require_certificate', 'requireCertificate'),
      bool('use_identity_as_username', 'useIdentityAsUsername'),
      bool('use_subject_as_username', 'useSubjectAsUsername'),
      word('tls_version', 'tlsVersion', 'tlsv1.3'),
      word('tls_keyform', 'keyform', 'pem'),
      word('ciphers', 'ciphers', 'ECDHE-RSA-AES128-GCM-SHA256'),
      word('ciphers_tls1.3', 'ciphers13', 'TLS_AES_128_GCM_SHA256'),
      word('tls_engine', 'engine', 'pkcs11'),
      word('cafile', 'cafile', '/etc/ca.pem'),
      word('capath', 'capath', '/etc/ca'),
      word('certfile', 'certfile', '/etc/cert.pem'),
      word('keyfile', 'keyfile', '/etc/key.pem'),
      word('crlfile', 'crlfile', '/etc/crl.pem'),
      word('dhparamfile', 'dhparamfile', '/etc/dh.pem'),
    ],
    // Every other TLS option too, so that the checks at the end of the file pass.
    (line) => ({
      ...parse(
        `listener 8883\ncafile /c\ncertfile /c\nkeyfile /k\nrequire_certificate true\nuse_identity_as_username true\n${line}`,
      ).listeners[0].tls,
    }),
  ],
  [
    'WS',
    'options',
    [int('websockets_headers_size', 'wsHeadersSize', 2048)],
    (line) => ({ ...parse(line) }),
  ],
  [
    'AUTH',
    'options',
    [
      bool('per_listener_settings', 'perListenerSettings', false),
      word('password_file', 'passwordFile', '/etc/pw'),
      word('acl_file', 'aclFile', '/etc/acl'),
      word('scram_credentials_file', 'scramFile', '/etc/scram'),
    ],
    (line) => ({ ...parse(line) }),
  ],
  [
    'PERSIST',
    'options',
    [
      bool('persistence', 'persistence'),
      bool('retained_persistence', 'persistence'),
      int('autosave_interval', 'autosaveInterval', 60),
      bool('autosave_on_changes', 'autosaveOnChanges'),
      word('persistence_sync', 'persistenceSync', 'always'),
      word('persistence_location', 'persistenceLocation', '/var/lib/midge'),
      word('persistence_file', 'persistenceFile', 'm.db'),
    ],
    (line) => ({ ...parse(line) }),
  ],
  [
    'BRIDGE',
    'options',
    [
      bool('round_robin', 'roundRobin'),
      bool('cleansession', 'cleanSession'),
      bool('local_cleansession', 'localCleanSession'),
      word('local_clientid', 'localClientId', 'lc'),
      int('keepalive_interval', 'keepalive', 30),
      bool('try_private', 'tryPrivate', false),
      bool('notifications', 'notifications', false),
      bool('notifications_local_only', 'notificationsLocalOnly'),
      word('start_type', 'startType', 'lazy'),
      int('threshold', 'threshold', 5),
      int('idle_timeout', 'idleTimeout', 9),
      word('bridge_cafile', 'cafile', '/ca.pem'),
      word('bridge_certfile', 'certfile', '/c.pem'),
      word('bridge_keyfile', 'keyfile', '/k.pem'),
      bool('bridge_insecure', 'insecure'),
      word('bridge_tls_version', 'tlsVersion', 'tlsv1.3'),
      word('bridge_alpn', 'alpn', 'mqtt'),
      word('bridge_bind_address', 'bindAddress', '10.0.0.2'),
      bool('bridge_attempt_unsubscribe', 'attemptUnsubscribe', false),
      int('bridge_max_packet_size', 'maxPacketSize', 4096),
      bool('bridge_outgoing_retain', 'outgoingRetain', false),
      word('remote_clientid', 'remoteClientId', 'rc'),
      word('remote_username', 'remoteUsername', 'ru'),
      word('remote_password', 'remotePassword', 'rp'),
      word('clientid', 'remoteClientId', 'rc2'),
      word('username', 'remoteUsername', 'ru2'),
      word('password', 'remotePassword', 'rp2'),
      word('bridge_capath', 'capath', '/etc/ssl/certs'),
      int('bridge_receive_maximum', 'receiveMaximum', 12),
    ],
    // bridge_cafile and bridge_certfile/keyfile, so that the TLS checks of the block pass.
    (line) => ({
      ...parse(`connection c\naddress a.example\ntopic #\nbridge_cafile /c\nbridge_certfile /c\nbridge_keyfile /k\n${line}`).bridges![0],
    }),
  ],
];

describe('feature option tables', () => {
  for (const [feature, list, cases, fields] of TABLES) {
    it(`${feature}: the first ${cases.length} names of its list land in their fields`, () => {
      expect(cases.map(([o]) => o)).toEqual(FEATURES[feature][list].slice(0, cases.length));
      for (const [option, w, field, value] of cases) expect(fields(`${option} ${w}`)[field], option).toEqual(value);
    });
  }

  it("each feature's profile in features.ts builds the feature in (profiles/NAME.json)", () => {
    for (const f of FEATURE_NAMES) {
      const { flags } = JSON.parse(readFileSync(new URL(`../../profiles/${FEATURES[f].profile}.json`, import.meta.url), 'utf8'));
      expect(flags, f).toContain(f);
    }
  });

  it('the tables are those of the features whose parser takes names from features.ts', () => {
    const keyed = FEATURE_NAMES.filter((f) => /FEATURES\.\w+\.\w+/.test(featureConfig(f)));
    expect(keyed.sort()).toEqual(TABLES.map(([f]) => f).sort());
  });
});

function featureConfig(f: FeatureName): string {
  try {
    return readFileSync(new URL(`../../src/features/${f.toLowerCase()}/config.ts`, import.meta.url), 'utf8');
  } catch {
    return '';
  }
}
