// Accepted byte streams (TCP, TLS, WebSockets) become MQTT Connections, up to max_connections per
// listener: past it a stream is refused at once.
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

