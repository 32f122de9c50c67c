// The files a config file names: read with errors at the naming line, and include_dir's files.
// Its own leaf, so the features' option parsers read files without importing the parser.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fail, type Where } from './values.ts';

/** A path given in the config file at `w`, relative to that file. */
export const besideConfig = (w: Where, path: string): string => resolve(dirname(w.file), path);

/** The text of `path`; an error at `w` naming `what` if it cannot be read. */
export function readText(w: Where, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return fail(w, `cannot read ${what}: ${(err as Error).message}`);
  }
}

/** Mosquitto's include_dir order (scmp_p): case-insensitive first, then upper case before lower. */
function mosquittoOrder(a: string, b: string): number {
  const up = (c: number): number => (c >= 97 && c <= 122 ? c - 32 : c);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (up(ca) !== up(cb)) return up(ca) - up(cb);
    if (ca !== cb) return ca - cb;
  }
  return a.length - b.length;
}

/** `include_dir DIR` at `w`: each `DIR/*.conf` file to `parse`, in Mosquitto's order, read one at a time. */
export function includeDir(w: Where, dir: string, parse: (text: string, file: string) => void): void {
  if (w.level > 0) fail(w, `include_dir is only valid in the main config file`);
  if (!dir) fail(w, `option 'include_dir' needs a directory`);
  const abs = resolve(dirname(w.file), dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch (err) {
    return fail(w, `cannot read include_dir '${dir}': ${(err as Error).message}`);
  }
  const files = names
    .filter((n) => n.length > 5 && n.endsWith('.conf'))
    .sort(mosquittoOrder)
    .map((n) => join(abs, n));
  for (const f of files) {
    let text: string;
    try {
      if (!statSync(f).isFile()) continue;
      text = readFileSync(f, 'utf8');
    } catch (err) {
      return fail(w, `cannot read included file '${f}': ${(err as Error).message}`);
    }
    parse(text, f);
  }
}
