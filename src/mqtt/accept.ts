// Accepted byte streams (TCP, TLS, WebSockets) become MQTT Connections, up to max_connections per
// listener and global_max_connections in all: past them a stream is refused at once.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Broker } from '../broker/broker.ts';
import type { ListenerConfig } from '../config/types.ts';
import { log } from '../util/log.ts';
import { Connection } from './connection.ts';

/** Turns a stream into a Connection; undefined when refused. */
export type Accept = (socket: Duplex, remote: string) => Connection | undefined;

/** One per listener: counts the listener's live connections. */
export function acceptor(broker: Broker, cfg: ListenerConfig, maxPacketSize: number, conns: Set<Connection>): Accept {
  let count = 0;
  return (socket, remote) => {
    const o = broker.options;
    const full =
      cfg.maxConnections >= 0 && count >= cfg.maxConnections ? `max_connections ${cfg.maxConnections}`
      : o.socketLimit > 0 && conns.size >= o.socketLimit ? `global_max_connections ${o.socketLimit}`
      : '';
    if (full) {
      log.notice(`Refused connection from ${remote}: ${full} reached.`);
      socket.destroy();
      return undefined;
    }
    // set_tcp_nodelay false brings Nagle's algorithm back (TCP and TLS; listeners set TCP_NODELAY).
    if (!o.tcpNoDelay) (socket as Socket).setNoDelay?.(false);
    if (o.logConnections) log.notice(`New connection from ${remote} on port ${(socket as Socket).localPort ?? cfg.port}.`);
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

