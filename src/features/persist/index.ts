// Feature PERSIST: retained messages and persistent sessions on disk (docs/persistence.md).
// server.ts calls startPersistence() behind the flag, before the listeners open.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Broker } from '../../broker/broker.ts';
import type { BrokerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { Image } from './image.ts';
import { loadState } from './load.ts';
import { PersistStore, type StoreOptions } from './store.ts';

/** The options with Mosquitto's defaults (persistence_sync is Midge's own: interval). */
export function persistenceOptions(cfg: BrokerConfig): StoreOptions {
  return {
    file: resolve(cfg.persistenceLocation || '.', cfg.persistenceFile ?? 'midge.db'),
    sync: cfg.persistenceSync ?? 'interval',
    autosaveInterval: cfg.autosaveInterval ?? 1800,
    autosaveOnChanges: cfg.autosaveOnChanges ?? false,
  };
}

export function startPersistence(broker: Broker, cfg: BrokerConfig): PersistStore {
  const opts = persistenceOptions(cfg);
  const file = opts.file;
  mkdirSync(dirname(file), { recursive: true });
  const t0 = Date.now();
  const image = new Image();
  const loaded = loadState(file, image);
  const users = new Map<string, string | undefined>();
  const held = image.install(broker, users);
  log.notice(`Persistence: restored ${image.retained.size} retained, ${image.sessions.size} sessions, ${held} queued from ${file} in ${Date.now() - t0} ms.`);
  const store = new PersistStore(broker, opts, loaded.generation);
  for (const [client, user] of users) store.users.set(client, user);
  store.start(loaded.fold, image.maxId + 1, loaded.snapshotBytes);
  broker.store = store;
  for (const s of broker.sessions.values()) s.store = store;
  return store;
}
