// MQTT-SN on a serial link (framing mqttsn-slip or mqttsn): the link is a datagram transport with
// one peer, feeding the same gateway core as UDP (src/features/sn/gateway.ts). The peer is one
// MQTT-SN client, or a forwarder (a radio coordinator) whose nodes are clients of their own.
import type { Broker } from '../../broker/broker.ts';
import { snDefaults } from '../sn/config.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { type DatagramTransport, Gateway } from '../sn/gateway.ts';
import { SlipDecoder, slipEncode, SnStreamDecoder } from './framing.ts';
import { PortKeeper, type SerialPortClass, type SerialRunning } from './port.ts';

/** Largest MQTT-SN packet on a serial link (a microcontroller's buffers are smaller still). */
const MAX_PACKET = 1024;
/** mqttsn framing: a pause this long inside a packet means the sender gave up on it. */
const GAP_MS = 100;

export function snLink(broker: Broker, cfg: SerialLinkConfig, SerialPort: SerialPortClass, sysInterval = 0): SerialRunning {
  const slip = cfg.framing === 'mqttsn-slip';
  const peer = `serial:${cfg.name}`;
  const transport: DatagramTransport = {
    maxDatagram: MAX_PACKET,
    // A device that stops reading must not grow the write buffer: drop, as UDP would (the
    // client's retries and keep-alive deal with it).
    send: (_peer, datagram) => {
      if (keeper.writable) keeper.write(slip ? slipEncode(datagram) : datagram);
    },
  };
  // No ADVERTISE: the station on the link talks to us directly (a forwarder's nodes may search,
  // and get GWINFO through it). sn_max_clients' default bounds the nodes behind a forwarder.
  const opts = { ...snDefaults(), advertiseInterval: 0 };
  const gw = new Gateway(broker, transport, opts, opts.maxClients, `serial ${cfg.name}`, undefined, `serial/${cfg.name}`, sysInterval);
  const receive = (packet: Buffer): void => gw.receive(packet, peer);
  const slipDec = new SlipDecoder(MAX_PACKET);
  const bareDec = new SnStreamDecoder(MAX_PACKET, GAP_MS);
  const keeper = new PortKeeper(broker, cfg, SerialPort, {
    opened() {},
    data(chunk) {
      if (slip) slipDec.push(chunk, receive);
      else bareDec.push(chunk, Date.now(), receive);
      const d = slipDec.dropped + bareDec.dropped;
      if (d > 0) keeper.dropped(d, `a malformed ${cfg.framing} frame`);
    },
    // The device is gone: its clients (a forwarder's nodes too) are lost, and their wills published.
    closed(why) {
      for (const c of [...gw.clients.values()]) c.end(`serial link ${cfg.name}: ${why}`, why !== 'broker shutting down');
    },
  });
  gw.start();
  keeper.start();
  const running: SerialRunning = {
    close: async () => {
      await keeper.stop();
      gw.close();
    },
  };
  if (HTTP) running.keepers = [keeper];
  return running;
}
