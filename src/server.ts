// Assembles a running broker from a config: the core, its listeners and optional features.
// main.ts (the CLI) and the integration tests both start Midge through here.
import type net from 'node:net';
import { Broker } from './broker/broker.ts';
import { createGate } from './features/auth/setup.ts';
import { startSys } from './broker/sys.ts';
import type { BrokerConfig, Reloader } from './config/types.ts';
import { startBridges } from './features/bridge/index.ts';
import type { Connection } from './mqtt/connection.ts';
import { startPersistence } from './features/persist/index.ts';
import { acceptor } from './mqtt/accept.ts';
import { listenTcp, onInterface } from './transport/tcp.ts';
import { listenSn } from './features/sn/udp.ts';
import { startSerial } from './features/serial/index.ts';
import { listenTls } from './features/tls/listen.ts';
import { listenWs } from './features/ws/listen.ts';
import { startPins } from './features/ha/pins.ts';
import { listenHttp } from './features/http/server.ts';
import { log } from './util/log.ts';

export interface Running {
  broker: Broker;
  /** Bound addresses in listener order, with the real port for `port 0` listeners. */
  addresses: { host: string; port: number }[];
  /** Closes listeners and connections (no wills are published) and stops timers. */
  close(): Promise<void>;
  /**
   * Re-reads what can change without a restart (SIGHUP): runs the reloaders features registered
   * with onReload (password and ACL files, TLS material), in order. A reloader must not throw: if
   * its files are broken, it keeps its old state and logs why.
   */
  reload(): Promise<void>;
  onReload(fn: Reloader): void;
}


const SPEC_MAX_PACKET = 268435455;

export async function startServer(cfg: BrokerConfig): Promise<Running> {
  const broker = new Broker({
    allowAnonymous: cfg.allowAnonymous,
    maxInflight: cfg.maxInflightMessages,
    maxQueued: cfg.maxQueuedMessages,
    maxQueuedBytes: cfg.maxQueuedBytes,
    inflightByteLimit: cfg.maxInflightBytes,
    queueQos0: cfg.queueQos0Messages,
    upgradeQos: cfg.upgradeOutgoingQos,
    retainCheck: cfg.checkRetainSource,
    memLimit: cfg.memoryLimit,
    stallTimeout: cfg.subscriberStallTimeout,
    retainAvailable: cfg.retainAvailable,
    messageSizeLimit: cfg.messageSizeLimit,
    persistentClientExpiration: cfg.persistentClientExpiration,
    maxKeepalive: cfg.maxKeepalive ?? 0,
    maxPacketSize: cfg.maxPacketSize ?? 0,
    logConnections: cfg.connectionMessages !== false,
    clientPrefix: cfg.clientidPrefixes ?? '',
    sessionLimit: cfg.globalMaxClients ?? 0,
    socketLimit: cfg.globalMaxConnections ?? 0,
    tcpNoDelay: cfg.setTcpNodelay !== false,
  });
  const reloaders: Reloader[] = [];
  if (AUTH) {
    const gate = createGate(cfg);
    if (gate) {
      broker.gate = gate;
      reloaders.push(() => gate.reload());
    }
  }
  const reload = async (): Promise<void> => {
    for (const fn of reloaders) await fn();
  };
  broker.start();
  if (PERSIST && cfg.persistence) startPersistence(broker, cfg);
  // A packet may carry a topic and header besides the payload the limit counts.
  let maxPacket = cfg.messageSizeLimit > 0 ? Math.min(SPEC_MAX_PACKET, cfg.messageSizeLimit + 65546) : SPEC_MAX_PACKET;
  // max_packet_size counts the whole packet; the decoder limits the remaining length.
  if (cfg.maxPacketSize) maxPacket = Math.min(maxPacket, remainingLengthWithin(cfg.maxPacketSize));
  const conns = new Set<Connection>();
  const servers: net.Server[] = [];
  /** Listeners that are not MQTT TCP servers (MQTT-SN gateways, HTTP), and GPIO pins (failsafe levels). */
  const others: { close(): Promise<void> }[] = [];
  const addresses: Running['addresses'] = [];
  const stopSys = SYS && cfg.sysInterval > 0 ? startSys(broker, cfg.sysInterval) : undefined;

  let stopBridges: (() => void) | undefined;

  let close = async (): Promise<void> => {
    if (BRIDGE) stopBridges?.();
    stopSys?.();
    broker.stop();
    for (const c of conns) c.end('', false, 0x8b);
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await Promise.all(others.map((o) => o.close()));
    // After the connections: their sessions are detached, and the last snapshot has it all.
    if (PERSIST) await broker.store?.close();
  };

  try {
    for (const l of cfg.listeners.flatMap(onInterface)) {
      if (SN && l.protocol === 'mqttsn' && l.sn) {
        const g = await listenSn(broker, l, l.sn, cfg.sysInterval);
        others.push(g);
        addresses.push(g.address);
        continue;
      }
      // HTTP: the status page, JSON API and /metrics. It finds the GPIO pins and serial ports among
      // `others` once they have started.
      if (HTTP && l.protocol === 'http') {
        const h = await listenHttp(broker, cfg, l, addresses, others, reloaders);
        others.push(h);
        addresses.push(h.address);
        continue;
      }
      if (l.protocol !== 'mqtt' && !(WS && l.protocol === 'websockets')) throw new Error(`listener ${l.port}: protocol ${l.protocol} is not available`);
      let server: net.Server;
      try {
        if (WS && l.protocol === 'websockets') server = await listenWs(broker, l, maxPacket, conns, reloaders, cfg.wsHeadersSize);
        else if (TLS && l.tls) server = await listenTls(broker, l, maxPacket, conns, reloaders);
        else server = await listenTcp(l, acceptor(broker, l, maxPacket, conns));
      } catch (err) {
        // The loopback-only defaults include ::1, which a host without IPv6 lacks.
        if (cfg.localOnly && l.host === '::1') {
          log.info(`IPv6 loopback not available (${(err as Error).message}); listening on IPv4 only.`);
          continue;
        }
        throw err;
      }
      servers.push(server);
      const a = server.address() as net.AddressInfo;
      addresses.push({ host: a.address, port: a.port });
    }
    // Bridges start once every listener is up, so a failed start-up leaves none running.
    if (BRIDGE && cfg.bridges) stopBridges = startBridges(broker, cfg, maxPacket);
    if (SERIAL && cfg.serial) others.push(await startSerial(broker, cfg.serial, cfg.sysInterval));
    // GPIO pins and Home Assistant discovery, whose `offline` goes out before connections close.
    if (GPIO || SERIAL) {
      const pins = await startPins(broker, cfg, reloaders);
      others.push(pins);
      const rest = close;
      close = async () => {
        pins.offline();
        await rest();
      };
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { broker, addresses, close, reload, onReload: (fn) => void reloaders.push(fn) };
}

/** The largest remaining length whose whole packet (1 + length bytes + remaining) fits in `total`. */
function remainingLengthWithin(total: number): number {
  let rem = total - 2;
  while (rem > 0 && 1 + (rem < 128 ? 1 : rem < 16384 ? 2 : rem < 2097152 ? 3 : 4) + rem > total) rem--;
  return rem;
}
