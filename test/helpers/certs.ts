// Throw-away certificates for TLS tests, made with the openssl command: a CA, two server
// certificates (for reload tests) valid for 127.0.0.1 and localhost, a client certificate signed
// by the CA, and a client certificate from an unrelated CA; addRevocation() adds a second client
// certificate that the CA revokes, and the CA's CRL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.ts';

export interface Certs {
  dir: string;
  ca: string;
  serverKey: string;
  serverCert: string;
  /** Same key, CN midge-server-2: what a renewed certificate looks like. */
  server2Cert: string;
  clientKey: string;
  /** Subject C=GB, O=Midge Tests, CN=sensor-1, signed by `ca`. */
  clientCert: string;
  rogueKey: string;
  /** CN rogue, self-signed: no CA of the broker vouches for it. */
  rogueCert: string;
}

export async function openssl(dir: string, ...args: string[]): Promise<void> {
  const p = await run('openssl', args, 20_000, { cwd: dir });
  if (p.exit.code !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${p.describe()}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeCerts(dir: string): Promise<Certs> {
  const f = (n: string): string => join(dir, n);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(dir, 'req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Midge Test CA');
  const sign = async (csr: string, out: string, ext?: string): Promise<void> =>
    openssl(dir, 'x509', '-req', '-in', csr, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Date.now() + Math.floor(Math.random() * 1e6)), '-days', '2', '-out', out, ...(ext ? ['-extfile', ext] : []));
  await openssl(dir, 'req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=midge-server-1');
  await sign('server.csr', 'server.crt', 'server.ext');
  await openssl(dir, 'req', '-new', '-key', 'server.key', '-out', 'server2.csr', '-subj', '/CN=midge-server-2');
  await sign('server2.csr', 'server2.crt', 'server.ext');
  await openssl(dir, 'req', ...EC, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/C=GB/O=Midge Tests/CN=sensor-1');
  await sign('client.csr', 'client.crt');
  await openssl(dir, 'req', '-x509', ...EC, '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2', '-subj', '/CN=rogue');
  return {
    dir,
    ca: f('ca.crt'),
    serverKey: f('server.key'),
    serverCert: f('server.crt'),
    server2Cert: f('server2.crt'),
    clientKey: f('client.key'),
    clientCert: f('client.crt'),
    rogueKey: f('rogue.key'),
    rogueCert: f('rogue.crt'),
  };
}

export interface Revocation {
  /** CN sensor-2, signed by the CA, then revoked. */
  revokedKey: string;
  revokedCert: string;
  /** The CA's PEM CRL, listing `revokedCert`. */
  crl: string;
}

/** A second client certificate, revoked with `openssl ca -revoke`, and the CRL `openssl ca -gencrl` makes. */
export async function addRevocation(c: Certs): Promise<Revocation> {
  const dir = c.dir;
  const f = (n: string): string => join(dir, n);
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('crlnumber'), '01\n');
  writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n');
  await openssl(dir, 'req', ...EC, '-keyout', 'revoked.key', '-out', 'revoked.csr', '-subj', '/CN=sensor-2');
  await openssl(dir, 'x509', '-req', '-in', 'revoked.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '4242', '-days', '2', '-out', 'revoked.crt');
  await openssl(dir, 'ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-revoke', 'revoked.crt');
  await openssl(dir, 'ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-gencrl', '-out', 'crl.pem');
  return { revokedKey: f('revoked.key'), revokedCert: f('revoked.crt'), crl: f('crl.pem') };
}
