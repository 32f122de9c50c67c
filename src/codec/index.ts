// The MQTT 3.1, 3.1.1 and 5 codec: packet types, streaming decoder, encoder and validators.
export * from './packets.ts';
export * from './decoder.ts';
export * from './encoder.ts';
export * from './validate.ts';
