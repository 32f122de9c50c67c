// Starts Midge in-process on an ephemeral loopback port for one test file.
import type { BrokerConfig, ListenerConfig } from '../../src/config/types.ts';
import { baseValues } from '../../src/config/defaults.ts';
import { startServer, type Running } from '../../src/server.ts';
import { log } from '../../src/util/log.ts';

export interface TestBroker {
  port: number;
  running: Running;
  close(): Promise<void>;
}

// Tests keep the log quiet unless MIDGE_TEST_LOG is set.
log.configure(new Set(process.env.MIDGE_TEST_LOG ? ['error', 'warning', 'notice', 'information', 'debug'] : ['error']), [{ kind: 'stderr' }]);

export function listener(overrides: Partial<ListenerConfig> = {}): ListenerConfig {
  return { port: 0, host: '127.0.0.1', protocol: 'mqtt', maxConnections: -1, ...overrides };
}

export function testConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  // The parser's own defaults, so new options get their real default here too.
  return { ...baseValues(), listeners: [listener()], allowAnonymous: true, sysInterval: 0, ...overrides };
}

export async function startBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const running = await startServer(testConfig(overrides));
  return { port: running.addresses[0].port, running, close: () => running.close() };
}
