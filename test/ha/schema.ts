// Home Assistant's MQTT discovery schema for the three components Midge announces, written from
// Home Assistant's documentation (home-assistant.io: integrations/mqtt "Discovery topic" and
// "Discovery payload"; integrations/binary_sensor.mqtt, switch.mqtt, sensor.mqtt "Configuration
// Variables"; integrations/binary_sensor, switch, sensor "Device class"). Only the keys Midge uses
// and the rules they must keep are here; abbreviations (stat_t, ...) are allowed by Home Assistant
// but not needed, so the full names are required.

/** `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`; ids in [a-zA-Z0-9_-]. */
export const DISCOVERY_TOPIC = /^(.+)\/(binary_sensor|switch|sensor)\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/;

type Kind = 'string' | 'integer' | 'boolean' | 'list' | 'map' | 'topic' | 'icon';

/** Keys every entity may carry (the MQTT entity options shared by all components). */
const COMMON: Record<string, Kind> = {
  name: 'string',
  unique_id: 'string',
  availability_topic: 'topic',
  payload_available: 'string',
  payload_not_available: 'string',
  device: 'map',
  icon: 'icon',
  qos: 'integer',
  value_template: 'string',
  object_id: 'string',
  enabled_by_default: 'boolean',
  entity_category: 'string',
  encoding: 'string',
  json_attributes_topic: 'topic',
  origin: 'map',
};

/** Device classes from Home Assistant's binary_sensor, switch and sensor integration pages. */
const BINARY_SENSOR_CLASSES = (
  'battery battery_charging carbon_monoxide cold connectivity door garage_door gas heat light lock ' +
  'moisture motion moving occupancy opening plug power presence problem running safety smoke sound ' +
  'tamper update vibration window'
).split(' ');
const SWITCH_CLASSES = ['outlet', 'switch'];
const SENSOR_CLASSES = (
  'absolute_humidity apparent_power aqi area atmospheric_pressure battery blood_glucose_concentration ' +
  'carbon_dioxide carbon_monoxide current data_rate data_size date distance duration energy ' +
  'energy_distance energy_storage enum frequency gas humidity illuminance irradiance moisture monetary ' +
  'nitrogen_dioxide nitrogen_monoxide nitrous_oxide ozone ph pm1 pm25 pm10 power_factor power ' +
  'precipitation precipitation_intensity pressure reactive_energy reactive_power signal_strength ' +
  'sound_pressure speed sulphur_dioxide temperature timestamp volatile_organic_compounds ' +
  'volatile_organic_compounds_parts voltage volume volume_flow_rate volume_storage water weight wind_direction wind_speed'
).split(' ');

interface ComponentSchema {
  required: string[];
  keys: Record<string, Kind>;
  deviceClasses: string[];
}

export const SCHEMA: Record<string, ComponentSchema> = {
  binary_sensor: {
    required: ['state_topic'],
    keys: { state_topic: 'topic', payload_on: 'string', payload_off: 'string', device_class: 'string', expire_after: 'integer', off_delay: 'integer', force_update: 'boolean' },
    deviceClasses: BINARY_SENSOR_CLASSES,
  },
  switch: {
    required: ['command_topic'],
    keys: {
      command_topic: 'topic', state_topic: 'topic', payload_on: 'string', payload_off: 'string', state_on: 'string',
      state_off: 'string', optimistic: 'boolean', retain: 'boolean', device_class: 'string',
    },
    deviceClasses: SWITCH_CLASSES,
  },
  sensor: {
    required: ['state_topic'],
    keys: {
      state_topic: 'topic', unit_of_measurement: 'string', device_class: 'string', state_class: 'string',
      expire_after: 'integer', force_update: 'boolean', suggested_display_precision: 'integer',
    },
    deviceClasses: SENSOR_CLASSES,
  },
};

const STATE_CLASSES = ['measurement', 'measurement_angle', 'total', 'total_increasing'];
/** The device map: at least one of identifiers or connections; the rest strings. */
const DEVICE_KEYS: Record<string, Kind> = { identifiers: 'list', connections: 'list', name: 'string', manufacturer: 'string', model: 'string', sw_version: 'string', hw_version: 'string', suggested_area: 'string', via_device: 'string' };

function kindError(v: unknown, kind: Kind): string | undefined {
  switch (kind) {
    case 'string': return typeof v === 'string' ? undefined : 'not a string';
    case 'integer': return Number.isInteger(v) ? undefined : 'not an integer';
    case 'boolean': return typeof v === 'boolean' ? undefined : 'not a boolean';
    case 'list': return Array.isArray(v) || typeof v === 'string' ? undefined : 'not a list';
    case 'map': return v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : 'not a map';
    // A valid MQTT topic name: not empty, no wildcards.
    case 'topic': return typeof v === 'string' && v.length > 0 && !/[+#]/.test(v) ? undefined : 'not a topic name';
    case 'icon': return typeof v === 'string' && /^[a-z0-9-]+:[a-z0-9-]+$/.test(v) ? undefined : 'not an icon (prefix:name)';
  }
}

/** The problems of one discovery message (topic and JSON payload); [] when valid. */
export function discoveryErrors(topic: string, payload: string): string[] {
  const errors: string[] = [];
  const m = DISCOVERY_TOPIC.exec(topic);
  if (!m) return [`topic ${topic} is not <prefix>/<component>/[<node_id>/]<object_id>/config`];
  const schema = SCHEMA[m[2]];
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(payload);
  } catch {
    return [`${topic}: payload is not JSON`];
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [`${topic}: payload is not a JSON dictionary`];
  for (const k of schema.required) if (!(k in body)) errors.push(`${topic}: required key ${k} missing`);
  for (const [k, v] of Object.entries(body)) {
    const kind = schema.keys[k] ?? COMMON[k];
    if (!kind) errors.push(`${topic}: unknown key ${k}`);
    else {
      const e = kindError(v, kind);
      if (e) errors.push(`${topic}: ${k} ${e}`);
    }
  }
  if (body.device_class !== undefined && !schema.deviceClasses.includes(body.device_class as string)) errors.push(`${topic}: device_class ${body.device_class} not valid for ${m[2]}`);
  if (body.state_class !== undefined && !STATE_CLASSES.includes(body.state_class as string)) errors.push(`${topic}: state_class ${body.state_class}`);
  if (body.qos !== undefined && ![0, 1, 2].includes(body.qos as number)) errors.push(`${topic}: qos ${body.qos}`);
  // The device registry needs a unique_id, and a device needs identifiers or connections.
  if (body.device !== undefined) {
    if (body.unique_id === undefined) errors.push(`${topic}: device without unique_id`);
    const d = body.device as Record<string, unknown>;
    if (d.identifiers === undefined && d.connections === undefined) errors.push(`${topic}: device without identifiers or connections`);
    for (const [k, v] of Object.entries(d)) {
      const kind = DEVICE_KEYS[k];
      const e = kind ? kindError(v, kind) : 'unknown device key';
      if (e) errors.push(`${topic}: device.${k} ${e}`);
    }
  }
  return errors;
}
