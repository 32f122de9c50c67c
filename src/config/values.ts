// Value parsers and errors for config lines, shared by the parser (parse.ts) and the features'
// option parsers (src/features/*/config.ts). A leaf: it imports nothing, so a feature can read its
// options without an import circle through the parser.

/** A configuration error; the message is `file:line: reason` (or `file: reason` without a line). */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

export interface Where {
  file: string;
  line: number;
  /** 0 for the main file, 1 for files read through include_dir. */
  level: number;
}

export function fail(w: Where, reason: string): never {
  throw new ConfigError(w.file, w.line, reason);
}

export function countArgs(w: Where, name: string, args: string[], min: number, max: number, what = 'a value'): void {
  if (args.length < min) fail(w, `option '${name}' needs ${what}`);
  if (args.length > max) {
    const extra = args.slice(max).join(' ');
    const hint = extra.startsWith('#') ? '; comments must be on a line of their own' : '';
    fail(w, `too many arguments for option '${name}': '${extra}'${hint}`);
  }
}

export function single(w: Where, name: string, args: string[], what?: string): string {
  countArgs(w, name, args, 1, 1, what);
  return args[0];
}

export function parseInteger(w: Where, name: string, s: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(s)) fail(w, `option '${name}' needs an integer, got '${s}'`);
  const n = Number(s);
  if (n < 0 && min >= 0) fail(w, `option '${name}' must not be negative, got ${s}`);
  if (n < min || n > max) fail(w, `option '${name}' is out of range: ${s} (allowed ${min}..${max})`);
  return n;
}

export function parseBool(w: Where, name: string, s: string): boolean {
  // Mosquitto's conf__parse_bool also takes 1 and 0.
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return fail(w, `option '${name}' needs true or false, got '${s}'`);
}

/** The rest of a (trimmed) line after its first `words` words, for values that may hold spaces. */
export function restOfLine(line: string, words: number): string {
  let rest = line;
  for (let i = 0; i < words; i++) rest = rest.replace(/^\S+\s*/, '');
  return rest.trim();
}

/** A path option's value: the rest of the line, as in Mosquitto (it may contain spaces). */
export function pathValue(w: Where, name: string, line: string, what = 'a value'): string {
  return restOfLine(line, 1) || fail(w, `option '${name}' needs ${what}`);
}

/**
 * How a one-word option is read into its field: `[field]` true or false, `[field, min, max]` an
 * integer, `[field, words]` one of the words, `[field, 0]` any word.
 */
export type OptionSpec = readonly [field: string, min?: number | readonly string[], max?: number];

/**
 * `values` keyed by the first of a feature's option names in features.ts, in order: features.ts
 * stays the one list of option names, and the bundle holds each name once.
 */
export const byName = <T>(names: readonly string[], values: readonly T[]): Record<string, T> =>
  Object.fromEntries(values.map((v, i) => [names[i], v]));

/** The spec of `name` in `table`, if it has one (own keys only: not `constructor`). */
export const specOf = (table: Record<string, OptionSpec>, name: string): OptionSpec | undefined =>
  Object.hasOwn(table, name) ? table[name] : undefined;

/** Reads the option's one value into `target` as its spec says. */
export function setOption(w: Where, name: string, args: string[], [field, a, b]: OptionSpec, target: object): void {
  const v = single(w, name, args);
  (target as Record<string, unknown>)[field] =
    a === undefined ? parseBool(w, name, v)
    : b !== undefined ? parseInteger(w, name, v, a as number, b)
    : !a || (a as readonly string[]).includes(v) ? v
    : fail(w, `option '${name}' needs ${(a as readonly string[]).join(', ').replace(/, (?!.*, )/, ' or ')}, got '${v}'`);
}

/**
 * The `key=value` words of a feature's line (serial, gpio) in order, each key one of `keys` and
 * given once (those in `repeatable` may repeat); `fail` throws the reason, which starts with `what`.
 */
export function keyValues(
  words: string[],
  keys: readonly string[],
  what: string,
  fail: (reason: string) => never,
  repeatable: readonly string[] = [],
): [string, string][] {
  const seen = new Set<string>();
  return words.map((word) => {
    const eq = word.indexOf('=');
    const k = word.slice(0, eq);
    if (eq < 1 || !keys.includes(k)) fail(`${what}: unknown setting '${word}' (expected key=value, key one of ${keys.join(', ')})`);
    if (seen.has(k) && !repeatable.includes(k)) fail(`${what}: '${k}' given twice`);
    seen.add(k);
    return [k, word.slice(eq + 1)];
  });
}
