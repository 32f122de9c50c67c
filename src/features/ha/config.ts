// Home Assistant discovery options (part of features GPIO and SERIAL; docs/home-assistant.md):
// `ha_discovery`, `ha_discovery_prefix`, `ha_node_id`, and the `sensor=` key of serial `line` links.
import { hostname } from 'node:os';
import { topicNameError } from '../../codec/validate.ts';
import { fail, parseBool, single, type Where } from '../../config/values.ts';
import type { BrokerConfig, HaSensor } from '../../config/types.ts';

/** Home Assistant's character class for node and object ids in discovery topics. */
const ID = /^[a-zA-Z0-9_-]+$/;

/** Any character outside that class becomes `_`. */
export const safeId = (s: string): string => s.replace(/[^a-zA-Z0-9_-]/g, '_');

/** The node id when ha_node_id is not given: the host name, lower case, made topic-safe. */
export const defaultNodeId = (): string => safeId(hostname().toLowerCase()) || 'midge';

/** One `ha_*` option line. */
export function haOption(w: Where, name: string, args: string[], cfg: BrokerConfig): void {
  const v = single(w, name, args);
  if (name === 'ha_discovery') cfg.haDiscovery = parseBool(w, name, v);
  else if (name === 'ha_discovery_prefix') {
    if (topicNameError(`${v}/x`) || v.endsWith('/')) fail(w, `option '${name}': '${v}' is not a topic prefix (no wildcards, no trailing '/')`);
    cfg.haPrefix = v;
  } else if (name === 'ha_node_id') {
    if (!ID.test(v)) fail(w, `option '${name}': '${v}' may hold only letters, digits, '_' and '-' (Home Assistant's node ids)`);
    cfg.haNodeId = v;
  } else fail(w, `unknown option '${name}'`);
}

/** `sensor=NAME[:UNIT[:DEVICE_CLASS]]` of a line link whose topics start with `prefix`. */
export function parseSensor(v: string, prefix: string, others: HaSensor[], bad: (reason: string) => never): HaSensor {
  const [name, unit, deviceClass, more] = v.split(':');
  if (!name || more !== undefined || topicNameError(prefix + name)) bad(`sensor '${v}': expected sensor=NAME[:UNIT[:DEVICE_CLASS]], NAME a topic level after the prefix`);
  if (others.some((s) => s.name === name)) bad(`sensor '${name}' given twice`);
  if (deviceClass !== undefined && !/^[a-z0-9_]+$/.test(deviceClass)) bad(`sensor '${name}': device class '${deviceClass}' is not a Home Assistant device class name`);
  return { name, unit: unit || undefined, deviceClass };
}
