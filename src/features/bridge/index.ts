// Starts the configured bridges (BRIDGE); server.ts calls this and the returned stop function.
import type { Broker } from '../../broker/broker.ts';
import type { BrokerConfig } from '../../config/types.ts';
import { BridgeLink } from './link.ts';

export function startBridges(broker: Broker, cfg: BrokerConfig, maxPacket: number): () => void {
  const links = (cfg.bridges ?? []).map(
    (b) => new BridgeLink(broker, b, maxPacket, { maxInflight: cfg.maxInflightMessages, maxQueued: b.maxQueued ?? cfg.maxQueuedMessages, maxQueuedBytes: cfg.maxQueuedBytes, inflightByteLimit: cfg.maxInflightBytes }),
  );
  for (const l of links) l.start();
  return () => links.forEach((l) => l.stop());
}
