// TLS listener options (feature TLS) into a listener's `tls` settings; src/config/parse.ts applies
// them to the listener block they belong to. docs/configuration.md#tls-listeners.
import { FEATURES } from '../../config/features.ts';
import type { ListenerConfig, TlsSettings } from '../../config/types.ts';
import { byName, fail, pathValue, setOption, specOf, type OptionSpec, type Where } from '../../config/values.ts';

const NAMES = FEATURES.TLS.listenerOptions;
/** The first four of FEATURES.TLS.listenerOptions, in order. */
const SPECS = byName<OptionSpec>(NAMES, [
  ['requireCertificate'], // require_certificate
  ['useIdentityAsUsername'], // use_identity_as_username
  ['tlsVersion', ['tlsv1.1', 'tlsv1.2', 'tlsv1.3']], // tls_version
  ['ciphers', 0], // ciphers
]);
/** The next four (cafile capath certfile keyfile): paths, each into the field of its name. */
const PATHS = NAMES.slice(4, 8);

/**
 * The settings a TLS option makes; undefined for the feature's options Midge does not implement
 * (kept raw, and refused at start-up).
 */
export function tlsOption(w: Where, name: string, args: string[], line: string): Partial<TlsSettings> | undefined {
  if (PATHS.includes(name)) return { [name]: pathValue(w, name, line) };
  const spec = specOf(SPECS, name);
  if (!spec) return undefined;
  const one = {};
  setOption(w, name, args, spec, one);
  return one;
}

/** Settings that only make sense together, checked once the file is read; `w`: where the listener's TLS settings began. */
export function checkTls(l: ListenerConfig, w: Where): void {
  const t = l.tls;
  if (!t) return;
  const at = `listener ${l.port}`;
  if (!t.certfile || !t.keyfile) fail(w, `TLS on ${at} needs both certfile and keyfile`);
  if (t.requireCertificate && !t.cafile && !t.capath) {
    fail(w, `require_certificate on ${at} needs cafile or capath to check client certificates against`);
  }
  if (t.useIdentityAsUsername && !t.requireCertificate) {
    fail(w, `use_identity_as_username on ${at} needs require_certificate true`);
  }
}
