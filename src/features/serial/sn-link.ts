// An MQTT-SN client on a serial link (framing mqttsn-slip or mqttsn): the link is a datagram
// transport with one peer, feeding the same gateway core as UDP (src/features/sn/gateway.ts).
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

export function snLink(broker: Broker, cfg: SerialLinkConfig, SerialPort: SerialPortClass): SerialRunning {
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
  // No ADVERTISE: the one station on the link is the client, which talks to us directly.
  const gw = new Gateway(broker, transport, { ...snDefaults(), advertiseInterval: 0, maxClients: 1 }, 1, `serial ${cfg.name}`);
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
    // The device is gone: its client is lost, and its will (if any) is published.
    closed(why) {
      gw.clients.get(peer)?.end(`serial link ${cfg.name}: ${why}`, why !== 'broker shutting down');
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
