// Plain TCP listeners, and listen() with its log line, which TLS and WebSocket listeners share.
// The transport knows sockets, not MQTT: what to do with an accepted stream is an Accept.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config/types.ts';
import { log } from '../util/log.ts';

/** Takes an accepted byte stream (the MQTT endpoint's acceptor: src/mqtt/accept.ts). */
export type Accept = (socket: Duplex, remote: string) => unknown;

/** Binds `server` to the listener's address; resolves once it listens. */
export function listen<T extends net.Server>(server: T, cfg: ListenerConfig, what = ''): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: cfg.port, host: cfg.host }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error(`Listener error: ${err.message}`));
      const addr = server.address() as net.AddressInfo;
      log.notice(`Opening ${addr.family === 'IPv6' ? 'ipv6' : 'ipv4'} listen socket on ${addr.address} port ${addr.port}${what}.`);
      resolve(server);
    });
  });
}

export function listenTcp(cfg: ListenerConfig, accept: Accept): Promise<net.Server> {
  return listen(net.createServer({ noDelay: true }, (s) => accept(s, `${s.remoteAddress}:${s.remotePort}`)), cfg);
}
