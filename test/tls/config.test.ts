// Parsing of the TLS listener options (TLS is on in test/vitest.config.ts).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';

const F = '/etc/midge.conf';
const parse = (text: string) => parseConfigText(text, F);
const err = (text: string): string => {
  try {
    parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('TLS options', () => {
  it('are parsed per listener into typed settings; paths are the rest of the line', () => {
    const c = parse(
      'listener 1883\nlistener 8883\ncafile /etc/midge/ca.pem\ncapath /etc/ssl/my certs\ncertfile /etc/midge/server.crt\n' +
        'keyfile /etc/midge/server.key\nrequire_certificate true\nuse_identity_as_username 1\ntls_version tlsv1.3\n' +
        'ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\n',
    );
    expect(c.listeners[0].tls).toBeUndefined();
    expect(c.listeners[1].tls).toEqual({
      cafile: '/etc/midge/ca.pem',
      capath: '/etc/ssl/my certs',
      certfile: '/etc/midge/server.crt',
      keyfile: '/etc/midge/server.key',
      requireCertificate: true,
      useIdentityAsUsername: true,
      tlsVersion: 'tlsv1.3',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256',
    });
  });

  it('before any listener they belong to the default listener (port), copied, not shared', () => {
    const c = parse('certfile /c.pem\nkeyfile /k.pem\nport 8883\nlistener 1883\n');
    expect(c.listeners.map((l) => [l.port, l.tls?.certfile])).toEqual([
      [1883, undefined],
      [8883, '/c.pem'],
    ]);
  });

  it('refuses settings that do not work together, at the first TLS line of the listener', () => {
    expect(err('listener 8883\ncertfile /c.pem')).toBe(`${F}:2: TLS on listener 8883 needs both certfile and keyfile (or psk_hint and psk_file for pre-shared keys)`);
    expect(err('listener 8883\n\nkeyfile /k.pem')).toBe(`${F}:3: TLS on listener 8883 needs both certfile and keyfile (or psk_hint and psk_file for pre-shared keys)`);
    expect(err('listener 8883\ncafile /ca.pem')).toBe(`${F}:2: TLS on listener 8883 needs both certfile and keyfile (or psk_hint and psk_file for pre-shared keys)`);
    expect(err('listener 8883\ncertfile /c\nkeyfile /k\nrequire_certificate true')).toBe(
      `${F}:2: require_certificate on listener 8883 needs cafile or capath to check client certificates against`,
    );
    expect(err('listener 8883\ncertfile /c\nkeyfile /k\ncafile /ca\nuse_identity_as_username true')).toBe(
      `${F}:2: use_identity_as_username on listener 8883 needs require_certificate true`,
    );
    expect(err('certfile /c\nkeyfile /k\nlistener 1883')).toMatch(/^\/etc\/midge\.conf:1: option 'certfile' comes before any 'listener' line/);
  });

  it('refuses malformed values', () => {
    expect(err('listener 1\ntls_version tlsv1')).toBe(`${F}:2: option 'tls_version' needs tlsv1.1, tlsv1.2 or tlsv1.3, got 'tlsv1'`);
    expect(err('listener 1\nrequire_certificate yes')).toBe(`${F}:2: option 'require_certificate' needs true or false, got 'yes'`);
    expect(err('listener 1\ncafile')).toBe(`${F}:2: option 'cafile' needs a value`);
    expect(err('listener 1\nciphers a b')).toBe(`${F}:2: too many arguments for option 'ciphers': 'b'`);
  });

  it('the options beyond certificates: crlfile, dhparamfile, ciphers_tls1.3, tls_keyform, tls_engine, use_subject_as_username', () => {
    const c = parse(
      'listener 8883\ncertfile /c\nkeyfile /k\ncafile /ca\nrequire_certificate true\ncrlfile /etc/my crl.pem\ndhparamfile /dh.pem\n' +
        'ciphers_tls1.3 TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\ntls_keyform pem\ntls_engine pkcs11\nuse_subject_as_username true\n',
    );
    expect(c.listeners[0].tls).toMatchObject({
      crlfile: '/etc/my crl.pem',
      dhparamfile: '/dh.pem',
      ciphers13: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256',
      keyform: 'pem',
      engine: 'pkcs11',
      useSubjectAsUsername: true,
    });
    expect(err('listener 1\nciphers_tls1.3 ECDHE-RSA-AES128-GCM-SHA256')).toBe(`${F}:2: option 'ciphers_tls1.3' takes TLS 1.3 suite names (TLS_...), got 'ECDHE-RSA-AES128-GCM-SHA256'`);
    expect(err('listener 1\ntls_keyform der')).toBe(`${F}:2: option 'tls_keyform' needs pem or engine, got 'der'`);
    expect(err('listener 8883\ncertfile /c\nkeyfile /k\ntls_keyform engine')).toBe(`${F}:2: tls_keyform engine on listener 8883 needs tls_engine`);
    expect(err('listener 8883\ncertfile /c\nkeyfile /k\ncafile /ca\nuse_subject_as_username true')).toBe(
      `${F}:2: use_subject_as_username on listener 8883 needs require_certificate true`,
    );
    expect(err('listener 1\ntls_engine_kpass_sha1 0123456789abcdef0123456789abcdef01234567')).toMatch(
      /^\/etc\/midge\.conf:2: option 'tls_engine_kpass_sha1' is not supported by Midge: Node cannot pass a key password/,
    );
  });

  it('TLS-PSK: psk_hint (rest of the line) makes a PSK listener without certificates; psk_file is global', () => {
    const c = parse('psk_file /etc/midge/psk\nlistener 1883\nlistener 8884\npsk_hint my broker\nuse_identity_as_username true\n');
    expect(c.listeners[0].tls).toBeUndefined();
    expect(c.listeners[1].tls).toEqual({ pskHint: 'my broker', pskFile: '/etc/midge/psk', useIdentityAsUsername: true });
    expect(err('listener 8884\npsk_hint h\n')).toBe(`${F}:2: psk_hint on listener 8884 needs psk_file (the identities and keys clients may use)`);
    expect(err('psk_file /p\nlistener 8884\npsk_hint h\ncertfile /c\nkeyfile /k\n')).toBe(
      `${F}:3: listener 8884 cannot use both certificate and psk encryption (psk_hint with certfile or cafile)`,
    );
  });

  it('psk_file with per_listener_settings true is the listener\'s own', () => {
    const c = parse(
      'per_listener_settings true\nlistener 8884\npsk_hint a\npsk_file /a\nallow_anonymous true\nlistener 8885\npsk_hint b\npsk_file /b\nallow_anonymous true\n',
    );
    expect(c.listeners.map((l) => l.tls?.pskFile)).toEqual(['/a', '/b']);
    expect(err('per_listener_settings true\nlistener 8884\npsk_hint a\nlistener 8885\npsk_file /b\n')).toMatch(/psk_hint on listener 8884 needs psk_file/);
  });
});
