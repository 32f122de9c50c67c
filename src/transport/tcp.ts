// Plain TCP listeners. Each accepted socket becomes a Connection; max_connections is enforced per
// listener by refusing the socket at once.
import net from 'node:net';
import type { Broker } from '../broker/broker.ts';
import type { ListenerConfig } from '../config/types.ts';
import { log } from '../util/log.ts';
import { Connection } from './connection.ts';

export function listenTcp(broker: Broker, cfg: ListenerConfig, maxPacketSize: number, conns: Set<Connection>): Promise<net.Server> {
  let count = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (cfg.maxConnections >= 0 && count >= cfg.maxConnections) {
      log.notice(`Refused connection from ${socket.remoteAddress}: max_connections ${cfg.maxConnections} reached.`);
      socket.destroy();
      return;
    }
    count++;
    const conn = new Connection(broker, socket, `${socket.remoteAddress}:${socket.remotePort}`, maxPacketSize, cfg);
    conns.add(conn);
    socket.once('close', () => {
      count--;
      conns.delete(conn);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: cfg.port, host: cfg.host }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error(`Listener error: ${err.message}`));
      const addr = server.address() as net.AddressInfo;
      log.notice(`Opening ${addr.family === 'IPv6' ? 'ipv6' : 'ipv4'} listen socket on ${addr.address} port ${addr.port}.`);
      resolve(server);
    });
  });
}
