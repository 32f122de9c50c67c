// Config-parsing helpers for tests.
import { parseConfigText } from '../../src/config/parse.ts';
import { ConfigError } from '../../src/config/values.ts';

/** The ConfigError message parsing `text` (as file `file`) gives; throws if it parses. */
export function configError(text: string, file: string): string {
  try {
    parseConfigText(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('no error');
}
