// What the API, /metrics and the page show, read from the running broker on each request: the
// core's counters, its sessions (clients, bridges, serial links) and the GPIO pins. Plain objects
// with snake_case keys: they are the JSON schema of docs/http.md.
import type { Broker } from '../../broker/broker.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Session } from '../../broker/session.ts';
import type { BrokerConfig, ListenerConfig } from '../../config/types.ts';
import { Connection } from '../../mqtt/connection.ts';
import { VERSION } from '../../version.ts';
import { BridgeLink } from '../bridge/link.ts';
import { GPIO_CLIENT_ID, type Open } from '../gpio/index.ts';
import { LineLink } from '../serial/line-link.ts';
import type { PortKeeper } from '../serial/port.ts';
import { SnClient } from '../sn/client.ts';
import type { Gateway } from '../sn/gateway.ts';

/** Everything the HTTP feature reads, handed over by server.ts. */
export interface View {
  broker: Broker;
  cfg: BrokerConfig;
  /** Bound addresses in listener order. */
  addresses: { host: string; port: number }[];
  /** GPIO: the open pins, once GPIO has started. */
  pins(): Open[];
  /** SERIAL: the links' ports, once serial links have started (none without serialport). */
  ports(): PortKeeper[];
  /** Event-loop lag, seconds, measured by the HTTP server. */
  lag(): number;
  /** SN: the MQTT-SN gateways of UDP listeners, for their counters. */
  gateways(): Gateway[];
}

const LEVELS = ['', '', '', 'MQTT 3.1', 'MQTT 3.1.1', 'MQTT 5'];

/** The protocol a session's client speaks; '' when it is not connected. */
export function protocolOf(s: Session): string {
  const o: Outlet | null = s.outlet;
  if (!o) return '';
  if (o instanceof Connection) return (BRIDGE && o.bridge ? 'bridge ' : '') + (LEVELS[o.protocolLevel] ?? `MQTT ${o.protocolLevel}`);
  // A node behind a forwarder (MQTT-SN 5.5) says so: its datagrams go via the forwarder.
  if (SN && o instanceof SnClient) return (o.peer.startsWith('serial:') ? 'MQTT-SN serial' : 'MQTT-SN UDP') + (o.via !== o.peer ? ' via forwarder' : '');
  if (BRIDGE && o instanceof BridgeLink) return 'bridge';
  if (SERIAL && o instanceof LineLink) return 'serial line';
  if (GPIO && s.clientId === GPIO_CLIENT_ID) return 'GPIO';
  return 'internal';
}

/** The listener a client came in on, if it came in on one. */
function listenerOf(o: Outlet | null): ListenerConfig | undefined {
  if (o instanceof Connection) return o.listener;
  if (SN && o instanceof SnClient) return (o.gw as { listener?: ListenerConfig }).listener;
  return undefined;
}

/** A session's subscriptions without creating its (lazily made) map. */
function subsOf(s: Session): Map<string, number> | undefined {
  return (s as unknown as { subs?: Map<string, number> }).subs;
}

export function brokerStatus(v: View) {
  const { broker, cfg } = v;
  const s = broker.stats;
  const counts = new Map<ListenerConfig, number>();
  for (const x of broker.sessions.values()) {
    const l = listenerOf(x.outlet);
    if (l) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const mem = process.memoryUsage();
  return {
    version: VERSION,
    uptime: Math.floor((Date.now() - s.startedAt) / 1000),
    clients: { connected: s.clientsConnected, total: s.clientsTotal, disconnected: s.clientsTotal - s.clientsConnected },
    messages: { received: s.messagesReceived, sent: s.messagesSent, dropped: s.messagesDropped, paced: s.publishersPaced },
    bytes: { received: s.bytesReceived, sent: s.bytesSent },
    retained: broker.retained.size,
    subscriptions: broker.tree.count,
    listeners: cfg.listeners.map((l, i) => ({
      protocol: l.protocol,
      host: v.addresses[i]?.host ?? l.host ?? '',
      port: v.addresses[i]?.port ?? l.port,
      tls: !!l.tls,
      connections: l.protocol === 'http' ? null : (counts.get(l) ?? 0),
    })),
    process: { rss: mem.rss, heap_used: mem.heapUsed, event_loop_lag: v.lag() },
  };
}

export type Page<T> = { total: number; offset: number; limit: number; items: T[] };

export function page<T>(all: T[], offset: number, limit: number): Page<T> {
  return { total: all.length, offset, limit, items: all.slice(offset, offset + limit) };
}

export function clients(v: View) {
  const out = [];
  for (const s of v.broker.sessions.values()) {
    const o = s.outlet;
    out.push({
      id: s.clientId,
      protocol: protocolOf(s),
      connected: !!o,
      remote: o instanceof Connection ? o.remote : SN && o instanceof SnClient ? o.peer : null,
      subscriptions: subsOf(s)?.size ?? 0,
      queued: s.queued,
      inflight: s.inflightCount,
    });
  }
  return out;
}

export function subscriptions(v: View) {
  const out = [];
  for (const s of v.broker.sessions.values()) {
    for (const [filter, o] of subsOf(s) ?? []) out.push({ client: s.clientId, filter, qos: o & 3 });
  }
  return out;
}

export function retained(v: View) {
  const out = [];
  for (const f of ['#', '$SYS/#']) for (const m of v.broker.retained.matching(f)) out.push({ topic: m.topic, bytes: m.payload.length, qos: m.qos });
  return out.sort((a, b) => (a.topic < b.topic ? -1 : 1));
}

export function bridges(v: View) {
  const out = [];
  if (BRIDGE) {
    for (const s of v.broker.sessions.values()) {
      const b = s.outlet;
      if (!(b instanceof BridgeLink)) continue;
      out.push({
        name: b.cfg.name,
        state: b.state,
        connected: b.state === 'connected',
        addresses: b.cfg.addresses.map((a) => `${a.host}:${a.port}`),
        remote_id: b.remoteId,
        local_id: b.localId,
        queued: s.queued,
        inflight: s.inflightCount,
      });
    }
  }
  return out;
}

export function links(v: View) {
  const { broker, cfg } = v;
  const serial = [];
  if (SERIAL) {
    const ports = v.ports();
    for (const l of cfg.serial ?? []) {
      // No port when serialport could not be loaded (or the framing needs SN, not built).
      const p = ports.find((k) => k.cfg === l);
      let client: string | null = null;
      for (const s of broker.sessions.values()) {
        const o = s.outlet;
        if ((SN && o instanceof SnClient && o.peer === `serial:${l.name}`) || (o instanceof LineLink && o.name === `serial/${l.name}`)) client = s.clientId;
      }
      const c = p?.counts;
      serial.push({ name: l.name, device: l.device, framing: l.framing, baud: l.baud, open: p ? p.open : null, client, rx_bytes: c?.rx ?? 0, tx_bytes: c?.tx ?? 0, dropped: c?.drops ?? 0 });
    }
  }
  const gpio = GPIO
    ? v.pins().map((p) => ({
        pin: p.cfg.name,
        number: p.cfg.number,
        direction: p.cfg.direction,
        topic: p.cfg.topic,
        set_topic: p.cfg.setTopic ?? null,
        level: p.state,
      }))
    : [];
  return { serial, gpio };
}
