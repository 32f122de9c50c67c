import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Unit and integration tests run against the sources with the feature flags below; bundle tests
// (test/build) build real bundles with scripts/build.mjs instead.
export default defineConfig({
  define: {
    BRIDGE: 'true',
    TLS: 'true',
    AUTH: 'true',
    SN: 'true',
    SERIAL: 'true',
    GPIO: 'true',
    PERSIST: 'true',
    WS: 'true',
    SYS: 'true',
    MQTT5: 'true',
    HTTP: 'true',
  },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    // Tests run as root here; brokers started from bundles would then drop to the `mosquitto` user
    // (the `user` default, as Mosquitto) and lose access to their root-only temp dirs. PUID=0 keeps
    // them root (Mosquitto 2.1's semantics); test/config/user.test.ts unsets it to test the drop.
    env: { PUID: '0' },
    hookTimeout: 20_000,
  },
});
