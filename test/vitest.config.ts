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
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
