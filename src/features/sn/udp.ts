// MQTT-SN over UDP (node:dgram): one socket per `protocol mqttsn` listener, feeding the gateway.
// Peers are keyed by source address and port, so a client that moves port is a new client.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Broker } from '../../broker/broker.ts';
import type { ListenerConfig, SnListenerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { type DatagramTransport, Gateway } from './gateway.ts';

/** Datagrams waiting in Node's send queue before further ones are dropped (a flood's replies). */
const MAX_SEND_QUEUE = 1024;

export interface SnListener {
  gateway: Gateway;
  address: { host: string; port: number };
  close(): Promise<void>;
}

function peerKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export async function listenSn(broker: Broker, l: ListenerConfig, sn: SnListenerConfig): Promise<SnListener> {
  const v6 = l.host === undefined || net.isIPv6(l.host);
  const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: l.port, address: l.host ?? '::' }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => log.error(`MQTT-SN listener error: ${err.message}`));
  const a = socket.address();
  const transport: DatagramTransport = {
    // The largest UDP payload over IPv4.
    maxDatagram: 65507,
    send(peer, datagram) {
      // getSendQueueCount arrived in Node 18.8; without it the kernel's buffer is the only bound.
      if (socket.getSendQueueCount?.() > MAX_SEND_QUEUE) return;
      const i = peer.lastIndexOf(':');
      const host = peer[0] === '[' ? peer.slice(1, i - 1) : peer.slice(0, i);
      socket.send(datagram, Number(peer.slice(i + 1)), host);
    },
  };
  const maxClients = l.maxConnections >= 0 ? Math.min(l.maxConnections, sn.maxClients) : sn.maxClients;
  const name = `udp ${peerKey(a.address, a.port)}`;
  const gateway = new Gateway(broker, transport, sn, maxClients, name, l);
  socket.on('message', (msg, rinfo) => gateway.receive(msg, peerKey(rinfo.address, rinfo.port)));
  gateway.start();
  log.notice(`Opening MQTT-SN gateway ${sn.gatewayId} on ${a.family === 'IPv6' ? 'ipv6' : 'ipv4'} UDP socket ${a.address} port ${a.port}.`);
  return {
    gateway,
    address: { host: a.address, port: a.port },
    close: () => {
      gateway.close();
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
