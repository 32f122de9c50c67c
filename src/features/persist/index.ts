// Feature PERSIST: retained messages and persistent sessions on disk (README "Persistence").
// server.ts calls startPersistence() behind the flag, before the listeners open.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Broker } from '../../broker/broker.ts';
import type { BrokerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { Image } from './image.ts';
import { loadState } from './load.ts';
import { PersistStore } from './store.ts';

export function startPersistence(broker: Broker, cfg: BrokerConfig): PersistStore {
  const dir = resolve(cfg.persistenceLocation || '.');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, cfg.persistenceFile);
  const t0 = Date.now();
  const image = new Image();
  const generation = loadState(file, image);
  const held = image.install(broker);
  log.notice(
    `Persistence: restored ${image.retained.size} retained messages and ${image.sessions.size} sessions ` +
      `(${held} messages queued or in flight) from ${file} in ${Date.now() - t0} ms.`,
  );
  const store = new PersistStore(broker, {
    file,
    sync: cfg.persistenceSync,
    autosaveInterval: cfg.autosaveInterval,
    autosaveOnChanges: cfg.autosaveOnChanges,
  }, generation);
  store.start();
  broker.store = store;
  for (const s of broker.sessions.values()) s.store = store;
  return store;
}
