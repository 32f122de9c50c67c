// GET /metrics: the Prometheus text exposition format 0.0.4. Names: `midge_` prefix, `_total`
// for counters, base units (seconds, bytes). The list is in docs/http.md.
import { brokerStatus, bridges, links, type View } from './status.ts';

type Sample = [labels: string, value: number];

const esc = (v: string): string => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
/** `{a="x",b="y"}` from pairs. */
const labels = (...kv: string[]): string => {
  let s = '';
  for (let i = 0; i < kv.length; i += 2) s += `${s ? ',' : ''}${kv[i]}="${esc(kv[i + 1])}"`;
  return `{${s}}`;
};

export function metrics(v: View): string {
  let out = '';
  const m = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[] | number): void => {
    out += `# HELP midge_${name} ${help}\n# TYPE midge_${name} ${type}\n`;
    for (const [l, x] of typeof samples === 'number' ? [['', samples] as Sample] : samples) out += `midge_${name}${l} ${x}\n`;
  };
  const b = brokerStatus(v);
  m('info', 'gauge', 'Version of the broker.', [[labels('version', b.version), 1]]);
  m('uptime_seconds', 'gauge', 'Seconds since the broker started.', b.uptime);
  m('clients_connected', 'gauge', 'Clients connected.', b.clients.connected);
  m('clients', 'gauge', 'Sessions known, connected or not.', b.clients.total);
  m('clients_disconnected', 'gauge', 'Persistent sessions without a connection.', b.clients.disconnected);
  m('messages_received_total', 'counter', 'PUBLISH messages received.', b.messages.received);
  m('messages_sent_total', 'counter', 'PUBLISH messages sent.', b.messages.sent);
  m('messages_dropped_total', 'counter', 'Messages dropped (queue limits, oversize).', b.messages.dropped);
  m('publishers_paced_total', 'counter', 'Times a publisher was paced by a full subscriber queue.', b.messages.paced);
  m('received_bytes_total', 'counter', 'Bytes received from clients.', b.bytes.received);
  m('sent_bytes_total', 'counter', 'Bytes sent to clients.', b.bytes.sent);
  m('retained_messages', 'gauge', 'Retained messages stored.', b.retained);
  m('subscriptions', 'gauge', 'Subscriptions in the topic tree.', b.subscriptions);
  const ls = b.listeners.filter((l) => l.connections !== null);
  m('listener_connections', 'gauge', 'Clients connected per listener.', ls.map((l) => [labels('listener', `${l.host}:${l.port}`, 'protocol', l.protocol), l.connections as number]));
  if (BRIDGE) {
    const bs = bridges(v);
    m('bridge_connected', 'gauge', 'Bridge connected to its remote (1) or not (0).', bs.map((x) => [labels('bridge', x.name, 'state', x.state), x.connected ? 1 : 0]));
    m('bridge_queued_messages', 'gauge', 'Messages queued for the remote.', bs.map((x) => [labels('bridge', x.name), x.queued]));
    m('bridge_inflight_messages', 'gauge', 'Messages sent to the remote and not yet acknowledged.', bs.map((x) => [labels('bridge', x.name), x.inflight]));
  }
  if (SN) {
    // The MQTT-SN gateways' $SYS counters ($SYS/broker/mqtt-sn/udp/PORT/NAME), one series each.
    const gs = v.gateways().map((g) => [labels('gateway', g.sysTopic), new Map(g.counters())] as const);
    const sn = (name: string, key: string, type: 'counter' | 'gauge', help: string): void =>
      m(`mqttsn_${name}`, type, help, gs.map(([l, c]) => [l, c.get(key) ?? 0]));
    sn('clients', 'clients', 'gauge', 'MQTT-SN clients connected, nodes behind forwarders included.');
    sn('nodes', 'nodes', 'gauge', 'MQTT-SN nodes connected through a forwarder (MQTT-SN 5.5).');
    sn('forwarders', 'forwarders', 'gauge', 'Forwarders with a node connected.');
    sn('encapsulated_received_total', 'encapsulated/received', 'counter', 'Encapsulated datagrams received.');
    sn('encapsulated_malformed_total', 'encapsulated/malformed', 'counter', 'Datagrams with a malformed encapsulation header, dropped.');
    sn('dropped_total', 'dropped', 'counter', 'MQTT-SN datagrams dropped.');
  }
  const { serial, gpio } = links(v);
  if (SERIAL) {
    m('serial_link_open', 'gauge', 'Serial device open (1) or not (0).', serial.map((x) => [labels('link', x.name, 'device', x.device), x.open ? 1 : 0]));
    m('serial_link_client_connected', 'gauge', 'A client is connected over the serial link.', serial.map((x) => [labels('link', x.name), x.client === null ? 0 : 1]));
    m('serial_link_received_bytes_total', 'counter', 'Bytes read from the serial device.', serial.map((x) => [labels('link', x.name), x.rx_bytes]));
    m('serial_link_sent_bytes_total', 'counter', 'Bytes written to the serial device.', serial.map((x) => [labels('link', x.name), x.tx_bytes]));
    m('serial_link_dropped_total', 'counter', 'Malformed frames or lines dropped.', serial.map((x) => [labels('link', x.name), x.dropped]));
  }
  if (GPIO) m('gpio_pin_level', 'gauge', 'Logical level of a GPIO pin.', gpio.map((p) => [labels('pin', p.pin, 'direction', p.direction), p.level]));
  m('process_resident_memory_bytes', 'gauge', 'Resident set size.', b.process.rss);
  m('process_heap_used_bytes', 'gauge', 'V8 heap in use.', b.process.heap_used);
  const cpu = process.cpuUsage();
  m('process_cpu_seconds_total', 'counter', 'User and system CPU time.', (cpu.user + cpu.system) / 1e6);
  m('event_loop_lag_seconds', 'gauge', 'Event-loop lag, last measured.', b.process.event_loop_lag);
  return out;
}
