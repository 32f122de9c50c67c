// GPIO pins and Home Assistant discovery as server.ts runs them (features GPIO and SERIAL): the pins
// open, discovery announces them and the serial sensors, and SIGHUP re-reads the config file's gpio
// lines (changed lines re-open the pins) and what discovery announces.
import type { Broker } from '../../broker/broker.ts';
import { loadConfigFile } from '../../config/parse.ts';
import type { BrokerConfig, Reloader } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { startGpio, type GpioRunning, type Open } from '../gpio/index.ts';
import { startDiscovery, type Discovery } from './discovery.ts';

export interface PinsRunning {
  /** Discovery's `offline`: called while clients are still connected. */
  offline(): void;
  /** Releases the pins (failsafe levels). */
  close(): Promise<void>;
  /** HTTP: the pins open now (they change on reload), for the status page, the API and /metrics. */
  pins?: Open[];
}

export async function startPins(broker: Broker, cfg: BrokerConfig, reloaders: Reloader[]): Promise<PinsRunning> {
  let gpio: GpioRunning | undefined;
  let ha: Discovery | undefined;
  if (GPIO && cfg.gpio) gpio = await startGpio(broker, cfg.gpio, cfg.gpioDriver);
  if (cfg.haDiscovery) ha = startDiscovery(broker, cfg, () => gpio?.announce());
  if (cfg.files.length) {
    reloaders.push(async () => {
      let next: BrokerConfig;
      try {
        next = loadConfigFile(cfg.files[0]);
      } catch (err) {
        return log.error(`Reload: ${(err as Error).message}; pins and discovery unchanged.`);
      }
      if (GPIO && JSON.stringify(next.gpio) !== JSON.stringify(cfg.gpio)) {
        await gpio?.close();
        cfg.gpio = next.gpio;
        gpio = next.gpio && (await startGpio(broker, next.gpio, cfg.gpioDriver));
      }
      ha?.reload(next);
    });
  }
  const running: PinsRunning = {
    offline: () => ha?.close(),
    close: async () => void (await gpio?.close()),
  };
  if (HTTP) Object.defineProperty(running, 'pins', { get: () => gpio?.pins ?? [] });
  return running;
}
