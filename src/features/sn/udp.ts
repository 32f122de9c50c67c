// MQTT-SN over UDP (node:dgram): one socket per `protocol mqttsn` listener, feeding the gateway.
// Peers are keyed by source address and port, so a client that moves port is a new client.
//
// sn_multicast_group (spec 6.1): ADVERTISE and GWINFO go to the group from the listener's socket,
// so their source is the address clients connect to. SEARCHGW is heard on the group's port: a
// listener on all interfaces joins the group itself when the port is its own; otherwise a second
// socket bound to the group's address and port (SO_REUSEADDR, so clients on this host can share
// the port) joins it, and hears SEARCHGW only. A socket bound to one unicast address never sees
// datagrams sent to a group.
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { Broker } from '../../broker/broker.ts';
import type { ListenerConfig, SnListenerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { SEARCHGW } from './codec.ts';
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

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * The interface for a group, as node:dgram wants it: an IPv4 address (IFACE as written, or the
 * named interface's first one), or `::%NAME` for IPv6.
 */
function multicastInterface(iface: string, v6: boolean): string {
  if (!v6 && net.isIPv4(iface)) return iface;
  if (v6) return `::%${iface}`;
  const a = os.networkInterfaces()[iface]?.find((x) => x.family === 'IPv4');
  if (!a) throw new Error(`interface ${iface} has no IPv4 address`);
  return a.address;
}

export async function listenSn(broker: Broker, l: ListenerConfig, sn: SnListenerConfig, sysInterval = 0): Promise<SnListener> {
  const v6 = l.host === undefined || net.isIPv6(l.host);
  const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
  await bind(socket, l.port, l.host ?? '::');
  socket.on('error', (err) => log.error(`MQTT-SN listener error: ${err.message}`));
  const a = socket.address();
  // getSendQueueCount arrived in Node 18.8; without it the kernel's buffer is the only bound.
  const full = (): boolean => socket.getSendQueueCount?.() > MAX_SEND_QUEUE;
  const transport: DatagramTransport = {
    // The largest UDP payload over IPv4.
    maxDatagram: 65507,
    send(peer, datagram) {
      if (full()) return;
      const i = peer.lastIndexOf(':');
      const host = peer[0] === '[' ? peer.slice(1, i - 1) : peer.slice(0, i);
      socket.send(datagram, Number(peer.slice(i + 1)), host);
    },
  };
  const maxClients = l.maxConnections >= 0 ? Math.min(l.maxConnections, sn.maxClients) : sn.maxClients;
  const name = `udp ${peerKey(a.address, a.port)}`;
  const gateway = new Gateway(broker, transport, sn, maxClients, name, l, `udp/${a.port}`, sysInterval);
  socket.on('message', (msg, rinfo) => gateway.receive(msg, peerKey(rinfo.address, rinfo.port)));
  let discovery: dgram.Socket | undefined;
  const mc = sn.multicast;
  if (mc) {
    const g6 = net.isIPv6(mc.group);
    const port = mc.port ?? a.port;
    // A dual-stack socket reaches an IPv4 group at its IPv4-mapped address.
    const target = v6 && !g6 ? `::ffff:${mc.group}` : mc.group;
    transport.broadcast = (datagram) => {
      if (!full()) socket.send(datagram, port, target);
    };
    try {
      const iface = mc.iface && multicastInterface(mc.iface, g6);
      if (iface) socket.setMulticastInterface(iface);
      if (port === a.port && (l.host === undefined || l.host === '::' || l.host === '0.0.0.0')) socket.addMembership(mc.group, iface);
      else {
        const d = (discovery = dgram.createSocket({ type: g6 ? 'udp6' : 'udp4', reuseAddr: true }));
        await bind(d, port, g6 && mc.iface ? `${mc.group}%${mc.iface}` : mc.group);
        d.addMembership(mc.group, iface);
        d.on('error', (err) => log.error(`MQTT-SN multicast socket error: ${err.message}`));
        // Only SEARCHGW: the group also carries other gateways' ADVERTISE and GWINFO, and ours.
        d.on('message', (msg, rinfo) => {
          if (msg[1] !== SEARCHGW) return;
          const from = v6 && rinfo.family === 'IPv4' ? `::ffff:${rinfo.address}` : rinfo.address;
          gateway.receive(msg, peerKey(from, rinfo.port));
        });
      }
    } catch (err) {
      discovery?.close();
      socket.close();
      const on = mc.iface ? ` on ${mc.iface}` : '';
      throw new Error(`MQTT-SN listener on port ${a.port}: cannot use multicast group ${mc.group} port ${port}${on}: ${(err as Error).message}`);
    }
    log.notice(`MQTT-SN gateway ${sn.gatewayId}: ADVERTISE to multicast group ${mc.group} port ${port}, and SEARCHGW heard there.`);
  }
  gateway.start();
  log.notice(`Opening MQTT-SN gateway ${sn.gatewayId} on ${a.family === 'IPv6' ? 'ipv6' : 'ipv4'} UDP socket ${a.address} port ${a.port}.`);
  return {
    gateway,
    address: { host: a.address, port: a.port },
    close: () => {
      gateway.close();
      discovery?.close();
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
