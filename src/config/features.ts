// Which mosquitto.conf options belong to which optional feature, and which build profile brings
// the feature in. The parser uses this to tell a user that an option is valid but compiled out of
// this bundle, rather than calling it unknown; the table stays in every build on purpose
// (docs/building.md#compile-time-flags). Options: docs/configuration.md (each option's default and
// flag; keep it in step with the lists below).
//
// Dead-code elimination: the flags (src/flags.d.ts) are only ever read directly, in featureBuilt()
// below. Never copy a flag into an object, array or variable.

export type FeatureName = 'BRIDGE' | 'TLS' | 'AUTH' | 'SN' | 'SERIAL' | 'GPIO' | 'PERSIST' | 'WS' | 'SYS' | 'HTTP';
export type ProfileName = 'router' | 'gateway' | 'full';

export interface FeatureInfo {
  /** The smallest build profile that includes the feature ('full' includes every feature). */
  profile: ProfileName;
  /** Global options the feature owns. */
  options: readonly string[];
  /**
   * Options that belong to a listener block (or, before the first `listener`, to the default
   * listener), like Mosquitto's per-listener TLS settings.
   */
  listenerOptions: readonly string[];
  /** Option name prefixes the feature owns (e.g. `plugin_opt_`). */
  prefixes: readonly string[];
}

/**
 * A feature's entry; each list is option names in one string, separated by spaces (smaller in the
 * bundle than array literals). The feature's parser (src/features/FEATURE/config.ts) takes the names of
 * its tables from here in order (byName in values.ts), so a list's order matters.
 */
const feature = (profile: ProfileName, options = '', listenerOptions = '', prefixes = ''): FeatureInfo => {
  const words = (s: string): readonly string[] => (s ? s.split(' ') : []);
  return { profile, options: words(options), listenerOptions: words(listenerOptions), prefixes: words(prefixes) };
};

export const FEATURES: Readonly<Record<FeatureName, FeatureInfo>> = {
  BRIDGE: feature(
    'router',
    'round_robin cleansession local_cleansession local_clientid keepalive_interval try_private ' +
      'notifications notifications_local_only start_type threshold idle_timeout bridge_cafile ' +
      'bridge_certfile bridge_keyfile bridge_insecure bridge_tls_version bridge_alpn ' +
      'bridge_bind_address bridge_attempt_unsubscribe bridge_max_packet_size bridge_outgoing_retain ' +
      'remote_clientid remote_username remote_password clientid username password bridge_capath ' +
      'bridge_receive_maximum bridge_identity bridge_psk connection address addresses topic ' +
      'bridge_protocol_version restart_timeout notification_topic local_username local_password ' +
      'bridge_require_ocsp bridge_session_expiry_interval',
  ),
  TLS: feature(
    'router',
    'psk_file',
    'require_certificate use_identity_as_username use_subject_as_username tls_version tls_keyform ciphers ' +
      'ciphers_tls1.3 tls_engine cafile capath certfile keyfile crlfile dhparamfile psk_hint tls_engine_kpass_sha1',
  ),
  AUTH: feature(
    'router',
    'per_listener_settings password_file acl_file scram_credentials_file plugin auth_plugin auth_plugin_deny_special_chars global_plugin',
    '',
    'plugin_opt_ auth_opt_ global_plugin_opt_',
  ),
  PERSIST: feature(
    'gateway',
    'persistence retained_persistence autosave_interval autosave_on_changes persistence_sync ' +
      'persistence_location persistence_file',
  ),
  WS: feature('full', 'websockets_headers_size websockets_log_level', 'http_dir websockets_origin'),
  SN: feature('gateway', '', 'advertise_interval gateway_id sn_max_clients sn_multicast_group predefined_topics'),
  SERIAL: feature('gateway', 'serial'),
  // ha_ (Home Assistant discovery) belongs to GPIO and SERIAL; parse.ts reads it with either.
  GPIO: feature('gateway', 'gpio', '', 'ha_'),
  // sys_interval is a core option: with SYS compiled out it is accepted and has no effect.
  SYS: feature('gateway'),
  // A listener protocol (`protocol http`); its listener's TLS options are TLS's.
  HTTP: feature('gateway'),
};

export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

/** Whether the feature is compiled into this bundle. Reads each flag constant directly. */
export function featureBuilt(name: FeatureName): boolean {
  switch (name) {
    case 'BRIDGE': return BRIDGE;
    case 'TLS': return TLS;
    case 'AUTH': return AUTH;
    case 'SN': return SN;
    case 'SERIAL': return SERIAL;
    case 'GPIO': return GPIO;
    case 'PERSIST': return PERSIST;
    case 'WS': return WS;
    case 'SYS': return SYS;
    case 'HTTP': return HTTP;
  }
}

export interface OptionOwner {
  feature: FeatureName;
  /** True for per-listener options (they belong to a listener block). */
  listener: boolean;
}

/** The feature that owns a config option, or undefined for core and unknown options. */
export function optionOwner(option: string): OptionOwner | undefined {
  for (const name of FEATURE_NAMES) {
    const f = FEATURES[name];
    if (f.listenerOptions.includes(option)) return { feature: name, listener: true };
    if (f.options.includes(option) || f.prefixes.some((p) => option.startsWith(p) && option.length > p.length)) {
      return { feature: name, listener: false };
    }
  }
  return undefined;
}

/**
 * The explanation for something that needs a compiled-out feature, e.g.
 * `option 'password_file' needs feature AUTH, which is not built into this bundle; build profile
 * 'router' or 'full' (npm run build -- --profile router)`.
 * @param subject what needs the feature, e.g. `option 'password_file'` or `protocol 'websockets'`.
 */
export function featureMissingMessage(subject: string, feature: FeatureName): string {
  const profile = FEATURES[feature].profile;
  const profiles = profile === 'full' ? `'full'` : `'${profile}' or 'full'`;
  return (
    `${subject} needs feature ${feature}, which is not built into this bundle; ` +
    `build profile ${profiles} (npm run build -- --profile ${profile})`
  );
}
