// Plain TCP listeners, and listen() with its log line, which TLS and WebSocket listeners share.
// The transport knows sockets, not MQTT: what to do with an accepted stream is an Accept.
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config/types.ts';
import { log } from '../util/log.ts';

/** Takes an accepted byte stream (the MQTT endpoint's acceptor: src/mqtt/accept.ts). */
export type Accept = (socket: Duplex, remote: string) => unknown;

/** Binds `server` to the listener's address; resolves once it listens. */
export function listen<T extends net.Server>(server: T, cfg: ListenerConfig, what = ''): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // socket_domain without an address: all addresses of that IP version only.
    server.listen({ port: cfg.port, host: cfg.host ?? (cfg.domain === 'ipv4' ? '0.0.0.0' : cfg.domain && '::'), ipv6Only: cfg.domain === 'ipv6' }, () => {
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

/**
 * bind_interface: the listener on the interface's first address of each IP version (as Mosquitto
 * binds; socket_domain picks one version), instead of its own address. Node has no
 * SO_BINDTODEVICE: addresses the interface gets after start-up are not listened on.
 */
export function onInterface(l: ListenerConfig): ListenerConfig[] {
  if (!l.iface) return [l];
  const all = networkInterfaces()[l.iface] ?? [];
  const out: ListenerConfig[] = [];
  for (const v of ['ipv4', 'ipv6']) {
    const a = all.find((a) => a.family.toLowerCase() === v);
    if (a && (l.domain ?? v) === v) out.push({ ...l, host: a.scopeid ? `${a.address}%${l.iface}` : a.address });
  }
  if (!out.length) throw new Error(`bind_interface ${l.iface}: no such interface or no address`);
  return out;
}
