// Parsing of the TLS listener options (TLS is on in test/vitest.config.ts).
import { describe, expect, it } from 'vitest';
import { parseConfigText, refuseUnimplemented } from '../../src/config/parse.ts';

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
    expect(c.listeners[1].extra.size).toBe(0);
    expect(() => refuseUnimplemented(c)).not.toThrow();
  });

  it('before any listener they belong to the default listener (port), copied, not shared', () => {
    const c = parse('certfile /c.pem\nkeyfile /k.pem\nport 8883\nlistener 1883\n');
    expect(c.listeners.map((l) => [l.port, l.tls?.certfile])).toEqual([
      [1883, undefined],
      [8883, '/c.pem'],
    ]);
  });

  it('refuses settings that do not work together, at the first TLS line of the listener', () => {
    expect(err('listener 8883\ncertfile /c.pem')).toBe(`${F}:2: TLS on listener 8883 needs both certfile and keyfile`);
    expect(err('listener 8883\n\nkeyfile /k.pem')).toBe(`${F}:3: TLS on listener 8883 needs both certfile and keyfile`);
    expect(err('listener 8883\ncafile /ca.pem')).toBe(`${F}:2: TLS on listener 8883 needs both certfile and keyfile`);
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

  it('TLS options Midge does not implement are refused at start-up', () => {
    const c = parse('listener 8883\ncertfile /c\nkeyfile /k\ncrlfile /crl.pem\n');
    expect(() => refuseUnimplemented(c)).toThrow(/option 'crlfile' \(feature TLS\) is not implemented yet/);
  });
});
