// PERSIST's options (docs/configuration.md#persistence) into the config; index.ts applies the
// defaults of those the file does not give.
import { FEATURES } from '../../config/features.ts';
import type { BrokerConfig } from '../../config/types.ts';
import { byName, pathValue, setOption, specOf, type OptionSpec, type Where } from '../../config/values.ts';

const NAMES = FEATURES.PERSIST.options;
/** The first five of FEATURES.PERSIST.options, in order. */
const SPECS = byName<OptionSpec>(NAMES, [
  ['persistence'], // persistence
  ['persistence'], // retained_persistence, Mosquitto's old synonym
  ['autosaveInterval', 0, 2147483647], // autosave_interval
  ['autosaveOnChanges'], // autosave_on_changes
  ['persistenceSync', ['never', 'interval', 'always']], // persistence_sync
]);

export function persistOption(w: Where, name: string, args: string[], line: string, cfg: BrokerConfig): void {
  const spec = specOf(SPECS, name);
  if (spec) return setOption(w, name, args, spec, cfg);
  // The last two: paths. Fields written out, not named in strings, so that the bundle shortens them.
  const path = pathValue(w, name, line);
  if (name === NAMES[5]) cfg.persistenceLocation = path; // persistence_location
  else cfg.persistenceFile = path; // persistence_file, relative to persistence_location
}
