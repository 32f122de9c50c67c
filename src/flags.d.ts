// Compile-time feature flags. esbuild `define` replaces each name with `true` or `false` at build
// time (scripts/build.mjs; test/vitest.config.ts for tests), so `if (FLAG) { ... }` blocks of a
// disabled feature vanish from the bundle. Test the constant directly: copying it into a variable
// or an object defeats dead-code elimination.

/** Bridges to other brokers (`connection` blocks). Off: no outbound MQTT client code. */
declare const BRIDGE: boolean;
/** TLS listeners and TLS bridges (node:tls). */
declare const TLS: boolean;
/** password_file, acl_file and the `midge passwd` command. */
declare const AUTH: boolean;
/** MQTT-SN 1.2 gateway over UDP (and serial, with SERIAL). */
declare const SN: boolean;
/** Serial links to sensors (serialport, loaded at run time). */
declare const SERIAL: boolean;
/** GPIO pins as topics (onoff, loaded at run time). */
declare const GPIO: boolean;
/** Retained messages and durable sessions on disk. */
declare const PERSIST: boolean;
/** MQTT over WebSockets (ws). */
declare const WS: boolean;
/** $SYS statistics topics. */
declare const SYS: boolean;
/** HTTP listeners (`protocol http`): status page, JSON API and Prometheus metrics (node:http). */
declare const HTTP: boolean;
/** MQTT 5.0 (protocol level 5) next to 3.1/3.1.1. Off: level 5 CONNECTs get CONNACK 1. */
declare const MQTT5: boolean;
