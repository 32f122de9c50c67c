// Protocol timeouts, in one place. Constants: esbuild inlines them, so a feature's value costs
// nothing in a build without the feature.

/** Seconds a new MQTT connection may take to send CONNECT; also its TLS handshake and WebSocket upgrade. */
export const CONNECT_TIMEOUT = 10;

/** Seconds a bridge has from starting a connection (DNS, TCP, TLS) to CONNACK; also a probe of its first address. */
export const BRIDGE_CONNECT_TIMEOUT = 10;

/** Seconds an MQTT-SN client may take from CONNECT to the end of the will prompts. */
export const SN_CONNECT_TIMEOUT = 10;

/** MQTT-SN Tretry (the spec suggests 10 to 15 s): seconds before a datagram awaiting its ack is resent (default of `retryInterval`). */
export const SN_TRETRY = 10;

/** MQTT-SN Nretry (the spec suggests 3 to 5): resends before the client is taken as lost (default of `retryCount`). */
export const SN_NRETRY = 3;

/** Milliseconds an ended socket may take to flush and close before it is destroyed. */
export const SOCKET_LINGER = 1000;
