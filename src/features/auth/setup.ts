// Wires AUTH into a starting broker: a Gate only when something is configured, so that a broker
// without password_file, acl_file, scram_credentials_file or per_listener_settings keeps the plain allow_anonymous check.
import type { BrokerConfig } from '../../config/types.ts';
import { log } from '../../util/log.ts';
import { AuthGate } from './gate.ts';

/** Reads the files; throws (start-up fails) if one is missing or broken. */
export function createGate(cfg: BrokerConfig): AuthGate | undefined {
  if (!cfg.perListenerSettings && !cfg.passwordFile && !cfg.aclFile && !cfg.scramFile) return undefined;
  const gate = new AuthGate(cfg);
  for (const s of gate.scopes) {
    if (s.passwords) log.info(`Password file ${s.cfg.passwordFile}: ${s.passwords.users.size} users.`);
    if (s.scram) log.info(`SCRAM credentials ${s.cfg.scramFile}: ${s.scram.users.size} users.`);
    if (s.cfg.aclFile) log.info(`ACL file ${s.cfg.aclFile} loaded.`);
  }
  return gate;
}
