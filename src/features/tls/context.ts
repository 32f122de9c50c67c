// A TLS listener's certificates and keys as Node TLS options. Files are read on every call, so a
// reload (SIGHUP) picks up renewed certificates.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setEngine } from 'node:crypto';
import tls from 'node:tls';
import type { TlsSettings } from '../../config/types.ts';
import { CONNECT_TIMEOUT } from '../../util/timeouts.ts';
import { readPskFile } from './psk.ts';

/** Node's name of a mosquitto.conf TLS version (tlsv1.2 → TLSv1.2). */
export const nodeTlsVersion = (v: string): tls.SecureVersion => `TLSv${v.slice(4)}` as tls.SecureVersion;

/** CA certificates of a cafile and a capath (listeners, and bridges' bridge_cafile and bridge_capath). */
export function caCerts(cafile: string | undefined, capath: string | undefined): Buffer[] {
  const ca: Buffer[] = [];
  if (cafile) ca.push(readFileSync(cafile));
  if (capath) {
    // Mosquitto's capath holds hashed links to PEM files; any PEM certificate file in it counts.
    for (const name of readdirSync(capath).sort()) {
      const p = join(capath, name);
      if (!statSync(p).isFile()) continue;
      const pem = readFileSync(p);
      if (pem.includes('-----BEGIN CERTIFICATE-----')) ca.push(pem);
    }
  }
  return ca;
}

/** What setSecureContext() can swap on a live server: certificates, keys, CAs, versions, ciphers. */
export function secureContextOptions(t: TlsSettings): tls.SecureContextOptions {
  const ca = caCerts(t.cafile, t.capath);
  const o: tls.SecureContextOptions = {
    ...(ca.length > 0 && { ca }),
    minVersion: nodeTlsVersion(t.tlsVersion ?? 'tlsv1.2'),
    ciphers: cipherList(t, t.pskHint !== undefined),
  };
  if (t.certfile) o.cert = readFileSync(t.certfile);
  // tls_keyform engine: keyfile names the key inside the engine (Node's privateKeyEngine).
  if (t.keyform === 'engine') {
    o.privateKeyEngine = t.engine;
    o.privateKeyIdentifier = t.keyfile;
  } else if (t.keyfile) {
    o.key = readFileSync(t.keyfile);
  }
  if (t.crlfile) o.crl = readFileSync(t.crlfile);
  if (t.dhparamfile) o.dhparam = readFileSync(t.dhparamfile);
  return o;
}

/**
 * Node's one `ciphers` list holds both: TLS 1.2 ciphers (`ciphers`; PSK ones on a psk_hint
 * listener) and TLS 1.3 suites (`ciphers_tls1.3`); each part left unset keeps Node's defaults.
 */
export function cipherList(t: Pick<TlsSettings, 'ciphers' | 'ciphers13'>, psk: boolean): string {
  const def = tls.DEFAULT_CIPHERS.split(':');
  const v12 = t.ciphers ?? (psk ? PSK_CIPHERS : def.filter((c) => !c.startsWith('TLS_')).join(':'));
  return `${t.ciphers13 ?? def.filter((c) => c.startsWith('TLS_')).join(':')}:${v12}`;
}

/** TLS 1.2 ciphers of a PSK connection when none are configured (Node's defaults exclude PSK). */
const PSK_CIPHERS = 'ECDHE-PSK:PSK:!eNULL';

/** Server options: the secure context, plus whether a client must show a certificate. */
export function serverOptions(t: TlsSettings): tls.TlsOptions {
  const required = t.requireCertificate === true;
  // A handshake that never finishes is dropped as a missing CONNECT would be.
  const o: tls.TlsOptions = { ...secureContextOptions(t), requestCert: required, rejectUnauthorized: required, handshakeTimeout: CONNECT_TIMEOUT * 1000 };
  // tls_engine without tls_keyform engine: the engine does OpenSSL's work (as Mosquitto sets it).
  if (t.engine && t.keyform !== 'engine') setEngine(t.engine);
  if (t.pskHint !== undefined) {
    pskKeys.set(t, readPskFile(t.pskFile as string));
    o.pskIdentityHint = t.pskHint;
    // An unknown identity gets no key: the handshake fails.
    o.pskCallback = (s, id) => {
      const key = pskKeys.get(t)?.get(id);
      if (key) pskIdentities.set(s, id);
      return key ?? null;
    };
  }
  return o;
}

/** Each PSK listener's identities and keys (psk_file), re-read by reloadPsk(). */
const pskKeys = new WeakMap<TlsSettings, Map<string, Buffer>>();
/** The PSK identity each TLS-PSK connection proved. */
export const pskIdentities = new WeakMap<tls.TLSSocket, string>();

/** SIGHUP: the listener's psk_file again (throws on a broken file, which keeps the old keys). */
export function reloadPsk(t: TlsSettings): void {
  if (t.pskHint !== undefined) pskKeys.set(t, readPskFile(t.pskFile as string));
}

/**
 * The username a TLS connection proved, or undefined: the PSK identity; else, of the verified
 * client certificate, the Common Name (use_identity_as_username) or, with use_subject_as_username
 * alone, the whole subject in RFC 2253 order (`CN=sensor-1,O=Acme,C=GB`), as Mosquitto gives it.
 */
export function certIdentity(socket: tls.TLSSocket, t: TlsSettings): string | undefined {
  if (t.pskHint !== undefined) return pskIdentities.get(socket);
  if (!socket.authorized) return undefined;
  if (!t.useIdentityAsUsername) return socket.getPeerX509Certificate()?.subject.split('\n').reverse().join(',') || undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}
