// Serial links (feature SERIAL): starts one link per `serial` line. serialport is an optional
// dependency, loaded only here: when it is missing the broker runs on without the links.
import type { Broker } from '../../broker/broker.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { LineLink } from './line-link.ts';
import type { SerialPortClass } from './port.ts';
import { snLink } from './sn-link.ts';

export async function startSerial(broker: Broker, links: SerialLinkConfig[], sysInterval = 0): Promise<{ close(): Promise<void> }> {
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
  const running: { close(): Promise<void> }[] = [];
  for (const cfg of links) {
    if (cfg.framing === 'line') {
      const l = new LineLink(broker, cfg, SerialPort);
      l.start();
      running.push({ close: () => l.stop() });
    } else if (SN) running.push(snLink(broker, cfg, SerialPort, sysInterval));
  }
  return { close: async () => void (await Promise.all(running.map((r) => r.close()))) };
}
