// The persistence options (docs/persistence.md): Mosquitto's names and defaults, Midge's own
// persistence_sync, errors as file:line, and the compiled-out message in a build without PERSIST.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { ConfigError } from '../../src/config/values.ts';
import { persistenceOptions } from '../../src/features/persist/index.ts';
import { importWithFlags } from '../helpers/bundled.ts';

type ParseModule = typeof import('../../src/config/parse.ts');

const F = '/etc/midge.conf';
const parse = (text: string) => parseConfigText(text, F);
/** The message of the ConfigError that parsing `text` throws. */
const err = (text: string): string => {
  const e = (() => {
    try {
      parse(text);
    } catch (x) {
      return x;
    }
  })();
  expect(e).toBeInstanceOf(ConfigError);
  return (e as Error).message;
};

describe('persistence options', () => {
  it('defaults: persistence false, midge.db in the current directory, autosave every 1800 s, sync interval', () => {
    const c = parse('');
    expect(c.persistence).toBeFalsy();
    expect(persistenceOptions(c)).toEqual({ file: join(process.cwd(), 'midge.db'), sync: 'interval', autosaveInterval: 1800, autosaveOnChanges: false });
    expect(persistenceOptions(parse('persistence_location /var/lib/midge\npersistence_file x.db')).file).toBe('/var/lib/midge/x.db');
  });

  it('parses every option into typed fields', () => {
    const c = parse(
      'persistence true\npersistence_location /var/lib/my midge/\npersistence_file state.db\n' +
        'autosave_interval 100\nautosave_on_changes true\npersistence_sync always\n',
    );
    expect([c.persistence, c.persistenceLocation, c.persistenceFile, c.autosaveInterval, c.autosaveOnChanges, c.persistenceSync])
      .toEqual([true, '/var/lib/my midge/', 'state.db', 100, true, 'always']);
    expect(parse('retained_persistence 1').persistence).toBe(true); // Mosquitto's synonym
    expect(parse('autosave_interval 0').autosaveInterval).toBe(0);
  });

  it('rejects bad values with file:line', () => {
    expect(err('\npersistence yes')).toBe(`${F}:2: option 'persistence' needs true or false, got 'yes'`);
    expect(err('persistence_sync sometimes')).toBe(`${F}:1: option 'persistence_sync' needs never, interval or always, got 'sometimes'`);
    expect(err('autosave_interval -1')).toBe(`${F}:1: option 'autosave_interval' must not be negative, got -1`);
    expect(err('persistence_location')).toBe(`${F}:1: option 'persistence_location' needs a value`);
    expect(err('persistence_sync always never')).toBe(`${F}:1: too many arguments for option 'persistence_sync': 'never'`);
  });
});

describe('in a build without PERSIST', () => {
  let without: ParseModule;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-nopersist-'));
    without = await importWithFlags<ParseModule>(new URL('../helpers/parse-entry.ts', import.meta.url), [], dir);
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const o of ['persistence', 'retained_persistence', 'persistence_location', 'persistence_file', 'autosave_interval', 'autosave_on_changes', 'persistence_sync']) {
    it(`${o} names feature PERSIST and profile gateway`, () => {
      expect(() => without.parseConfigText(`listener 1883\n${o} x`, F)).toThrow(
        `${F}:2: option '${o}' needs feature PERSIST, which is not built into this bundle; build profile 'gateway' or 'full' (npm run build -- --profile gateway)`,
      );
    });
  }
});
