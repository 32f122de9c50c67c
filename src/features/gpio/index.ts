// GPIO pins as topics (feature GPIO): inputs publish their state on edges, outputs follow messages
// on their set topic and publish their new state. Outputs share one internal broker session whose
// Outlet applies what it is delivered; nothing touches the publish path for other clients.
import type { Broker } from '../../broker/broker.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Session } from '../../broker/session.ts';
import type { QoS } from '../../codec/packets.ts';
import { log } from '../../util/log.ts';
import type { GpioPinConfig } from './config.ts';
import { loadOnoff, onoffDriver } from './onoff.ts';
import { decodeSet, encodeState } from './payload.ts';
import type { Level, Pin, PinDriver } from './pin.ts';

/** The client id of the outputs' session. */
export const GPIO_CLIENT_ID = 'midge-gpio';

/** An open pin (the HTTP feature reads them: levels, and which pins are outputs). */
export interface Open {
  cfg: GpioPinConfig;
  pin: Pin;
  /** Logical state last published (inputs) or set (outputs). */
  state: Level;
  /** 1 when active low: the level is the logical state XOR this. */
  inv: number;
  timer?: NodeJS.Timeout;
}

export interface GpioRunning {
  /** Drives failsafe levels, releases the pins and ends the outputs' session. */
  close(): Promise<void>;
  /** Publishes every open pin's state (Home Assistant discovery, after its birth message). */
  announce(): void;
  /** HTTP: the pins that opened, for the status page, the API and /metrics. */
  pins?: Open[];
}

/** Opens the configured pins. Pins that fail to open are logged and skipped; never throws. */
export async function startGpio(broker: Broker, pins: GpioPinConfig[], driver?: PinDriver): Promise<GpioRunning> {
  // The numbers the driver will use, so a wrong chip base can be spotted in the log.
  for (const p of pins) log.info(`GPIO pin ${p.name}: ${p.direction}, number ${p.number}, topic ${p.topic}${p.setTopic ? `, set topic ${p.setTopic}` : ''}.`);
  if (!driver) {
    const onoff = await loadOnoff();
    if ('why' in onoff) {
      log.error(`GPIO pins not available: ${onoff.why}. The broker runs without its ${pins.length} configured pin(s).`);
      return { close: async () => {}, announce() {} };
    }
    driver = onoffDriver(onoff.Gpio, (spec, err) => log.warning(`GPIO watch error on number ${spec.number}: ${err.message}`));
  }
  const open: Open[] = [];
  const publish = (o: Open): void => {
    const { topic, format, qos, retain } = o.cfg;
    broker.publish(makeMessage(topic, encodeState(format, o.state, Date.now()), qos, retain));
  };
  for (const cfg of pins) {
    const inv = cfg.activeLow ? 1 : 0;
    // Outputs start at their failsafe level if they have one, else at logical 0.
    const initial = ((cfg.failsafe ?? 0) ^ inv) as Level;
    let pin: Pin;
    try {
      pin = await driver.open({ number: cfg.number, direction: cfg.direction, initial });
    } catch (err) {
      const hint = (err as NodeJS.ErrnoException).code === 'EINVAL' ? ' (kernels 6.6+ number sysfs GPIOs from the chip base: add board=NAME or base=N)' : '';
      log.error(`GPIO pin ${cfg.name} (number ${cfg.number}) could not be opened: ${(err as Error).message}${hint}`);
      continue;
    }
    const o: Open = { cfg, pin, inv, state: cfg.direction === 'out' ? ((initial ^ inv) as Level) : ((pin.read() ^ inv) as Level) };
    open.push(o);
    if (cfg.direction === 'in') pin.watch((level) => onEdge(o, level, publish));
    if (cfg.publishInitial) publish(o);
  }
  log.notice(`GPIO: ${open.length} of ${pins.length} pin(s) open (driver ${driver.name}).`);

  const outputs = open.filter((o) => o.cfg.direction === 'out');
  let session: Session | undefined;
  if (outputs.length) {
    const outlet = new OutputsOutlet(outputs, publish, () => session && broker.detach(session, false));
    session = broker.attach(GPIO_CLIENT_ID, true, undefined, outlet).session;
    session.resume(outlet);
    // QoS 0 is enough: delivery to this outlet is a function call. Retained set messages apply at
    // start, as they would for any subscriber.
    for (const o of outputs) {
      broker.subscribe(session, o.cfg.setTopic as string, 0 as QoS);
      broker.sendRetained(session, o.cfg.setTopic as string, 0);
    }
  }
  const running: GpioRunning = {
    announce: () => open.forEach(publish),
    async close() {
      if (session?.outlet) broker.detach(session, false);
      for (const o of open) {
        clearTimeout(o.timer);
        try {
          if (o.cfg.failsafe !== undefined) o.pin.write((o.cfg.failsafe ^ o.inv) as Level);
          o.pin.close();
        } catch (err) {
          log.warning(`GPIO pin ${o.cfg.name}: ${(err as Error).message} while releasing it.`);
        }
      }
    },
  };
  if (HTTP) running.pins = open;
  return running;
}

/** An input edge: the settled logical value is published when it changed (and the edge is wanted). */
function onEdge(o: Open, level: Level, publish: (o: Open) => void): void {
  const settle = (v: Level): void => {
    if (v === o.state) return;
    o.state = v;
    if (o.cfg.edge === 'both' || (o.cfg.edge === 'rising') === (v === 1)) publish(o);
  };
  if (o.cfg.debounce === 0) return settle((level ^ o.inv) as Level);
  // Debounce: the level read once it has stayed put for `debounce` ms counts.
  clearTimeout(o.timer);
  o.timer = setTimeout(() => settle((o.pin.read() ^ o.inv) as Level), o.cfg.debounce);
}

/** The outputs' session outlet: a delivered message on a set topic sets that pin. */
class OutputsOutlet implements Outlet {
  readonly writable = true;
  readonly online = true;
  private readonly byTopic = new Map<string, Open>();

  constructor(
    outputs: Open[],
    private readonly publish: (o: Open) => void,
    private readonly detach: () => void,
  ) {
    for (const o of outputs) this.byTopic.set(o.cfg.setTopic as string, o);
  }

  sendPublish(msg: Message): void {
    const o = this.byTopic.get(msg.topic);
    if (!o) return;
    const v = decodeSet(msg.payload);
    if (v === undefined) {
      log.warning(`GPIO pin ${o.cfg.name}: ignoring '${msg.payload.toString('utf8', 0, 40)}' on ${msg.topic} (expected 0/1, ON/OFF, true/false, toggle or {"value":...}).`);
      return;
    }
    const next = v === 'toggle' ? ((o.state ^ 1) as Level) : v;
    try {
      o.pin.write((next ^ o.inv) as Level);
    } catch (err) {
      log.error(`GPIO pin ${o.cfg.name}: could not set it: ${(err as Error).message}`);
      return;
    }
    o.state = next;
    this.publish(o);
  }

  sendPubrel(): void {}

  /** Taken over by a client with the same id: the broker expects the session detached now. */
  close(reason: string): void {
    this.detach();
    log.warning(`GPIO outputs' session ${GPIO_CLIENT_ID} closed (${reason}); outputs no longer follow their set topics.`);
  }
}
