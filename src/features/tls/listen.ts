// TLS listeners: node:tls in front of the same Connection as TCP. Certificates are re-read on
// SIGHUP with setSecureContext(): new handshakes use them, live connections are untouched.
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Broker } from '../../broker/broker.ts';
import type { ListenerConfig, Reloader, TlsSettings } from '../../config/types.ts';
import type { Connection } from '../../mqtt/connection.ts';
import { type Accept, acceptor } from '../../mqtt/accept.ts';
import { listen } from '../../transport/tcp.ts';
import { log } from '../../util/log.ts';
import { certIdentity, reloadPsk, secureContextOptions, serverOptions } from './context.ts';

export function listenTls(broker: Broker, l: ListenerConfig, maxPacketSize: number, conns: Set<Connection>, reloaders: Reloader[]): Promise<tls.Server> {
  const t = l.tls as TlsSettings;
  const accept = acceptor(broker, l, maxPacketSize, conns);
  const server = tls.createServer(serverOptions(t), (s) => {
    s.setNoDelay(true);
    acceptTls(accept, s, s, `${s.remoteAddress}:${s.remotePort}`, t);
  });
  watchHandshakes(server);
  reloaders.push(tlsReloader(server, t));
  return listen(server, l, ' (TLS)');
}

/** Logs refused handshakes (no or untrusted client certificate, wrong version, ...). */
export function watchHandshakes(server: tls.Server): void {
  server.on('tlsClientError', (err, s) => {
    log.notice(`TLS handshake with ${s.remoteAddress}:${s.remotePort} failed: ${err.message}`);
  });
}

/**
 * Hands a stream carried by an established TLS socket to the listener. With
 * use_identity_as_username the certificate's CN goes along as the connection's identity.
 */
export function acceptTls(accept: Accept, stream: Duplex, socket: tls.TLSSocket, remote: string, t: TlsSettings): void {
  let identity: string | undefined;
  if (t.useIdentityAsUsername || t.useSubjectAsUsername) {
    identity = certIdentity(socket, t);
    if (identity === undefined) {
      log.notice(`Refused connection from ${remote}: client certificate without a CN, or no PSK identity (use_identity_as_username).`);
      stream.destroy();
      return;
    }
  }
  const conn = accept(stream, remote);
  if (conn) conn.identity = identity;
}

/** Re-reads the listener's files; a broken file keeps the current certificates. */
export function tlsReloader(server: tls.Server, t: TlsSettings): Reloader {
  return () => {
    const port = (server.address() as { port?: number } | null)?.port;
    try {
      reloadPsk(t);
      server.setSecureContext(secureContextOptions(t));
      log.notice(`Reloaded TLS certificates of the listener on port ${port}.`);
    } catch (err) {
      log.error(`Keeping the previous TLS certificates of the listener on port ${port}: ${(err as Error).message}`);
    }
  };
}
