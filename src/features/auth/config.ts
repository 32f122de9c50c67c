// AUTH's options (docs/configuration.md#authentication-and-acls) into the config. A file option
// is kept both globally and for its listener until the whole file is read: per_listener_settings,
// which decides between them, may come anywhere (as in Mosquitto).
import { FEATURES } from '../../config/features.ts';
import type { BrokerConfig, ListenerConfig } from '../../config/types.ts';
import { byName, pathValue, setOption, specOf, type OptionSpec, type Where } from '../../config/values.ts';

const NAMES = FEATURES.AUTH.options;
/** The first of FEATURES.AUTH.options. */
const SPECS = byName<OptionSpec>(NAMES, [['perListenerSettings']]); // per_listener_settings
/** The next three (password_file acl_file scram_credentials_file) and their fields. */
const FILES = byName(NAMES.slice(1), ['passwordFile', 'aclFile', 'scramFile'] as const);

/**
 * An AUTH option into `cfg`; `perListener` records a file option for its listener as well. False
 * for the feature's options Midge does not implement (refused by the parser at their line).
 */
export function authOption(
  w: Where,
  name: string,
  args: string[],
  line: string,
  cfg: BrokerConfig,
  perListener: (apply: (t: Partial<ListenerConfig>) => void) => void,
): boolean {
  const spec = specOf(SPECS, name);
  if (spec) {
    setOption(w, name, args, spec, cfg);
    return true;
  }
  const field = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!field) return false;
  const path = pathValue(w, name, line, 'a file name');
  cfg[field] = path;
  perListener((t) => {
    t[field] = path;
  });
  return true;
}

/** Once the file is read: the security settings are global, or per listener with per_listener_settings true. */
export function finishAuth(cfg: BrokerConfig): void {
  if (!cfg.perListenerSettings) {
    for (const l of cfg.listeners) {
      l.passwordFile = l.aclFile = l.scramFile = l.allowAnonymous = undefined;
    }
    return;
  }
  cfg.passwordFile = cfg.aclFile = cfg.scramFile = undefined;
  // A listener without allow_anonymous: false with a config file, true in local-only mode.
  for (const l of cfg.listeners) l.allowAnonymous ??= cfg.localOnly === true;
}
