// Serial links (feature SERIAL): starts one link per `serial` line. serialport is an optional
// dependency, loaded only here: when it is missing the broker runs on without the links.
import type { Broker } from '../../broker/broker.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { LineLink } from './line-link.ts';
import type { SerialPortClass, SerialRunning } from './port.ts';
import { snLink } from './sn-link.ts';

export async function startSerial(broker: Broker, links: SerialLinkConfig[], sysInterval = 0): Promise<SerialRunning> {
  let SerialPort: SerialPortClass;
  try {
    ({ SerialPort } = await import('serialport'));
  } catch (err) {
    log.error(
      `Serial links not started: cannot load the serialport package (${(err as Error).message}). ` +
        'Install it next to midge with `npm install serialport@12` and restart.',
    );
    return { close: async () => {} };
  }
  const running: SerialRunning[] = [];
  for (const cfg of links) {
    if (cfg.framing === 'line') {
      const l = new LineLink(broker, cfg, SerialPort);
      l.start();
      running.push(HTTP ? { close: () => l.stop(), keepers: [l.keeper] } : { close: () => l.stop() });
    } else if (SN) running.push(snLink(broker, cfg, SerialPort, sysInterval));
  }
  const all: SerialRunning = { close: async () => void (await Promise.all(running.map((r) => r.close()))) };
  if (HTTP) all.keepers = running.flatMap((r) => r.keepers ?? []);
  return all;
}
