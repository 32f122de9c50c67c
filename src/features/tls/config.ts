// TLS listener options (feature TLS) into a listener's `tls` settings; src/config/parse.ts applies
// them to the listener block they belong to. docs/configuration.md#tls-listeners.
import { FEATURES } from '../../config/features.ts';
import type { BrokerConfig, ListenerConfig, TlsSettings } from '../../config/types.ts';
import { byName, fail, pathValue, setOption, specOf, type OptionSpec, type Where } from '../../config/values.ts';

const NAMES = FEATURES.TLS.listenerOptions;
/** The first eight of FEATURES.TLS.listenerOptions, in order. */
const SPECS = byName<OptionSpec>(NAMES, [
  ['requireCertificate'], // require_certificate
  ['useIdentityAsUsername'], // use_identity_as_username
  ['useSubjectAsUsername'], // use_subject_as_username
  ['tlsVersion', ['tlsv1.1', 'tlsv1.2', 'tlsv1.3']], // tls_version
  ['keyform', ['pem', 'engine']], // tls_keyform
  ['ciphers', 0], // ciphers
  ['ciphers13', 0], // ciphers_tls1.3
  ['engine', 0], // tls_engine
]);

/** The next six (cafile capath certfile keyfile crlfile dhparamfile): paths, each into the field of its name. */
const PATHS = NAMES.slice(8, 14);
/** Then psk_hint: the rest of the line, as Mosquitto reads it. */
const PSK_HINT = NAMES[14];

/**
 * The settings a TLS listener option makes. (tls_engine_kpass_sha1, the last name, is refused:
 * Node cannot hand a key password to an OpenSSL engine.)
 */
export function tlsOption(w: Where, name: string, args: string[], line: string): Partial<TlsSettings> {
  if (PATHS.includes(name)) return { [name]: pathValue(w, name, line) };
  if (name === PSK_HINT) return { pskHint: pathValue(w, name, line) };
  const spec = specOf(SPECS, name);
  if (!spec) fail(w, `option '${name}' is not supported by Midge: Node cannot pass a key password to an OpenSSL engine`);
  const one: Partial<TlsSettings> = {};
  setOption(w, name, args, spec, one);
  if (one.ciphers13?.split(':').some((s) => !s.startsWith('TLS_'))) {
    fail(w, `option '${name}' takes TLS 1.3 suite names (TLS_...), got '${one.ciphers13}'`);
  }
  return one;
}

/** psk_file: global, and recorded for its listener in case per_listener_settings is true. */
export function pskFileOption(w: Where, line: string, cfg: BrokerConfig, perListener: (apply: (t: Partial<ListenerConfig>) => void) => void): void {
  const path = pathValue(w, 'psk_file', line, 'a file name');
  cfg.pskFile = path;
  perListener((t) => { t.pskFile = path; });
}

/** Settings that only make sense together, checked once the file is read; `w`: where the listener's TLS settings began. */
export function checkTls(l: ListenerConfig, w: Where, cfg: BrokerConfig): void {
  const t = l.tls;
  if (!t) return;
  const at = `listener ${l.port}`;
  if (t.pskHint !== undefined) {
    // As Mosquitto: a listener uses certificates or pre-shared keys, not both.
    if (t.certfile || t.cafile) fail(w, `${at} cannot use both certificate and psk encryption (psk_hint with certfile or cafile)`);
    t.pskFile = cfg.perListenerSettings ? l.pskFile : cfg.pskFile;
    if (!t.pskFile) fail(w, `psk_hint on ${at} needs psk_file (the identities and keys clients may use)`);
  } else if (!t.certfile || !t.keyfile) {
    fail(w, `TLS on ${at} needs both certfile and keyfile (or psk_hint and psk_file for pre-shared keys)`);
  }
  if (t.requireCertificate && !t.cafile && !t.capath) {
    fail(w, `require_certificate on ${at} needs cafile or capath to check client certificates against`);
  }
  if ((t.useIdentityAsUsername && t.pskHint === undefined) || t.useSubjectAsUsername) {
    if (!t.requireCertificate) fail(w, `${t.useSubjectAsUsername ? 'use_subject' : 'use_identity'}_as_username on ${at} needs require_certificate true`);
  }
  if (t.keyform === 'engine' && !t.engine) fail(w, `tls_keyform engine on ${at} needs tls_engine`);
}
