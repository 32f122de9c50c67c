// Plain TCP listeners, and the two pieces every listener shares (TLS and WebSocket listeners reuse
// them): an acceptor that turns each accepted byte stream into a Connection, enforcing
// max_connections per listener by refusing the stream at once, and listen() with its log line.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Broker } from '../broker/broker.ts';
import type { ListenerConfig } from '../config/types.ts';
import { log } from '../util/log.ts';
import { Connection } from './connection.ts';

export type Accept = (socket: Duplex, remote: string) => Connection | undefined;

/** One per listener: counts the listener's live connections. */
export function acceptor(broker: Broker, cfg: ListenerConfig, maxPacketSize: number, conns: Set<Connection>): Accept {
  let count = 0;
  return (socket, remote) => {
    if (cfg.maxConnections >= 0 && count >= cfg.maxConnections) {
      log.notice(`Refused connection from ${remote}: max_connections ${cfg.maxConnections} reached.`);
      socket.destroy();
      return undefined;
    }
    count++;
    const conn = new Connection(broker, socket, remote, maxPacketSize, cfg);
    conns.add(conn);
    socket.once('close', () => {
      count--;
      conns.delete(conn);
    });
    return conn;
  };
}

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

export function listenTcp(broker: Broker, cfg: ListenerConfig, maxPacketSize: number, conns: Set<Connection>): Promise<net.Server> {
  const accept = acceptor(broker, cfg, maxPacketSize, conns);
  return listen(net.createServer({ noDelay: true }, (s) => accept(s, `${s.remoteAddress}:${s.remotePort}`)), cfg);
}
