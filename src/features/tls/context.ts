// A TLS listener's certificates and keys as Node TLS options. Files are read on every call, so a
// reload (SIGHUP) picks up renewed certificates.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import type { TlsSettings } from '../../config/types.ts';
import { CONNECT_TIMEOUT } from '../../util/timeouts.ts';

/** Node's name of a mosquitto.conf TLS version (tlsv1.2 → TLSv1.2). */
export const nodeTlsVersion = (v: string): tls.SecureVersion => `TLSv${v.slice(4)}` as tls.SecureVersion;

/** What setSecureContext() can swap on a live server: certificates, keys, CAs, versions, ciphers. */
export function secureContextOptions(t: TlsSettings): tls.SecureContextOptions {
  const ca: Buffer[] = [];
  if (t.cafile) ca.push(readFileSync(t.cafile));
  if (t.capath) {
    // Mosquitto's capath holds hashed links to PEM files; any PEM certificate file in it counts.
    for (const name of readdirSync(t.capath).sort()) {
      const p = join(t.capath, name);
      if (!statSync(p).isFile()) continue;
      const pem = readFileSync(p);
      if (pem.includes('-----BEGIN CERTIFICATE-----')) ca.push(pem);
    }
  }
  return {
    cert: readFileSync(t.certfile as string),
    key: readFileSync(t.keyfile as string),
    ...(ca.length > 0 && { ca }),
    minVersion: nodeTlsVersion(t.tlsVersion ?? 'tlsv1.2'),
    ...(t.ciphers !== undefined && { ciphers: t.ciphers }),
  };
}

/** Server options: the secure context, plus whether a client must show a certificate. */
export function serverOptions(t: TlsSettings): tls.TlsOptions {
  const required = t.requireCertificate === true;
  // A handshake that never finishes is dropped as a missing CONNECT would be.
  return { ...secureContextOptions(t), requestCert: required, rejectUnauthorized: required, handshakeTimeout: CONNECT_TIMEOUT * 1000 };
}

/** The verified client certificate's Common Name, or undefined. */
export function certIdentity(socket: tls.TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}
