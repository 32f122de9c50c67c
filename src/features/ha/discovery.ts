// Home Assistant MQTT discovery (part of GPIO and SERIAL; docs/home-assistant.md): each gpio pin
// and each `sensor=` of a serial line link is announced as an entity of one device, the node.
// Configs are retained on PREFIX/COMPONENT/NODE/OBJECT/config; NODE/status says online/offline;
// Home Assistant's birth message (PREFIX/status = online) makes everything be published again.
// Retained configs of this node that the config no longer has are cleared (empty retained).
import type { Broker } from '../../broker/broker.ts';
import { makeMessage, type Message } from '../../broker/message.ts';
import type { Outlet } from '../../broker/outlet.ts';
import type { Session } from '../../broker/session.ts';
import type { BrokerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { VERSION } from '../../version.ts';
import { defaultNodeId, safeId } from './config.ts';

/** The client id of the session that hears Home Assistant's birth message. */
export const HA_CLIENT_ID = 'midge-ha';

/** One discovery message: its topic and JSON body. */
export interface Announcement {
  topic: string;
  body: Record<string, unknown>;
}

/** What the config announces: the discovery messages for its pins and serial sensors. */
export function announcements(cfg: BrokerConfig, prefix: string, node: string): Announcement[] {
  const out: Announcement[] = [];
  const device = { identifiers: [`midge_${node}`], name: node, manufacturer: 'Midge', model: 'Midge MQTT broker', sw_version: VERSION };
  const add = (component: string, id: string, body: Record<string, unknown>): void => {
    // JSON.stringify leaves out the keys whose value is undefined.
    out.push({
      topic: `${prefix}/${component}/${node}/${id}/config`,
      body: { ...body, unique_id: `${node}_${id}`, availability_topic: `${node}/status`, device },
    });
  };
  if (GPIO) {
    for (const p of cfg.gpio ?? []) {
      const f = p.format;
      const [off, on] = f === 'onoff' ? ['OFF', 'ON'] : f === 'bool' ? ['false', 'true'] : ['0', '1'];
      add(p.direction === 'in' ? 'binary_sensor' : 'switch', `gpio${p.number}`, {
        name: p.title ?? `GPIO ${p.name}`,
        state_topic: p.topic,
        command_topic: p.setTopic,
        payload_on: on,
        payload_off: off,
        // json publishes {"value":0|1,"ts":...}; its set topic takes 0 and 1.
        value_template: f === 'json' ? '{{ value_json.value }}' : undefined,
        device_class: p.deviceClass,
        icon: p.icon,
        qos: p.qos || undefined,
      });
    }
  }
  if (SERIAL) {
    for (const l of cfg.serial ?? []) {
      for (const s of l.sensors ?? []) {
        add('sensor', safeId(`${l.name}_${s.name}`), {
          name: s.name,
          state_topic: l.prefix + s.name,
          unit_of_measurement: s.unit,
          device_class: s.deviceClass,
          // A value with a unit is a measurement: Home Assistant keeps its statistics.
          state_class: s.unit && 'measurement',
          qos: l.qos || undefined,
        });
      }
    }
  }
  return out;
}

export interface Discovery {
  /** Announces the entities of a new config and clears those it no longer has (SIGHUP). */
  reload(cfg: BrokerConfig): void;
  /** Publishes `offline` on the status topic and ends the session. Before the connections close. */
  close(): void;
}

/**
 * Starts discovery for `cfg`: clears stale configs of this node, publishes the configs, `online`,
 * then `states()` (the pins' current states). Never throws.
 */
export function startDiscovery(broker: Broker, cfg: BrokerConfig, states: () => void): Discovery {
  const prefix = cfg.haPrefix ?? 'homeassistant';
  const node = cfg.haNodeId ?? defaultNodeId();
  const status = `${node}/status`;
  // QoS 1, retained: Home Assistant may connect later, and subscribes at QoS 1 or 0.
  const publish = (topic: string, payload: string): number => broker.publish(makeMessage(topic, Buffer.from(payload), 1, true));
  let list: Announcement[] = [];

  const announce = (): void => {
    for (const a of list) publish(a.topic, JSON.stringify(a.body));
    publish(status, 'online');
    states();
  };
  const apply = (c: BrokerConfig): void => {
    list = announcements(c, prefix, node);
    const wanted = new Set(list.map((a) => a.topic));
    // Retained configs of this node (kept by persistence, or from before a reload) not wanted now.
    for (const m of [...broker.retained.matching(`${prefix}/+/${node}/+/config`)]) {
      if (!wanted.has(m.topic)) {
        log.notice(`Home Assistant discovery: removing ${m.topic} (no longer in the config).`);
        publish(m.topic, '');
      }
    }
    announce();
    log.notice(`Home Assistant discovery: ${list.length} entit${list.length === 1 ? 'y' : 'ies'} of node ${node} on ${prefix}/, availability on ${status}.`);
  };
  apply(cfg);

  // Home Assistant's birth message: the internal session's only subscription (QoS 0, no retained
  // message at subscribe time: a retained `online` from long ago is no news).
  const outlet = new BirthOutlet(`${prefix}/status`, announce, () => session.outlet && broker.detach(session, false));
  const session: Session = broker.attach(HA_CLIENT_ID, true, undefined, outlet).session;
  session.resume(outlet);
  broker.subscribe(session, outlet.topic, 0);

  return {
    reload: apply,
    close() {
      publish(status, 'offline');
      if (session.outlet) broker.detach(session, false);
    },
  };
}

class BirthOutlet implements Outlet {
  readonly writable = true;
  readonly online = true;

  constructor(
    readonly topic: string,
    private readonly announce: () => void,
    private readonly detach: () => void,
  ) {}

  sendPublish(msg: Message): void {
    if (msg.payload.toString() === 'online') this.announce();
  }

  sendPubrel(): void {}

  close(reason: string): void {
    this.detach();
    log.warning(`Home Assistant discovery: session ${HA_CLIENT_ID} closed (${reason}); birth messages no longer re-announce.`);
  }
}
