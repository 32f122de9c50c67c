// The AUTH feature's Gate: picks the security scope of a connection (one for the broker, or the
// listener's own with per_listener_settings) and lets it decide.
import type { Admission, Credentials, Gate } from '../../broker/access.ts';
import type { BrokerConfig, ListenerConfig } from '../../config/types.ts';
import type { AuthExchange } from '../../broker/access.ts';
import { METHODS } from './enhanced.ts';
import { Security } from './security.ts';

export class AuthGate implements Gate {
  readonly scopes: Security[] = [];
  private readonly global: Security | undefined;
  private readonly byListener = new Map<ListenerConfig, Security>();

  /** Reads the password and ACL files; throws if one is missing or broken. */
  constructor(cfg: BrokerConfig) {
    if (cfg.perListenerSettings) {
      for (const l of cfg.listeners) {
        const { passwordFile, aclFile, scramFile } = l;
        const s = new Security({ allowAnonymous: l.allowAnonymous ?? cfg.allowAnonymous, passwordFile, aclFile, scramFile });
        this.byListener.set(l, s);
        this.scopes.push(s);
      }
    } else {
      const { allowAnonymous, passwordFile, aclFile, scramFile } = cfg;
      this.global = new Security({ allowAnonymous, passwordFile, aclFile, scramFile });
      this.scopes.push(this.global);
    }
  }

  private scope(l: ListenerConfig | undefined): Security | undefined {
    return this.global ?? (l && this.byListener.get(l));
  }

  admit(c: Credentials): Admission {
    const s = this.scope(c.listener);
    // per_listener_settings with a transport that did not say which listener: refuse, as Mosquitto.
    if (!s) return { ok: false, code: 5, why: `client ${c.clientId}: no listener security settings` };
    return s.admit(c.clientId, c.username, c.password, c.verified === true);
  }

  /** MQTT 5 enhanced authentication: a new exchange, or undefined for a method unknown here. */
  exchange(method: string, l: ListenerConfig | undefined): AuthExchange | undefined {
    const s = this.scope(l);
    const start = METHODS.get(method);
    return s && start?.(s);
  }

  reload(): void {
    for (const s of this.scopes) s.reload();
  }
}
