// Lines of mosquitto.conf-style files (the config, include_dir files, predefined topics).

/** The lines that hold something, as [line number, trimmed text]: blank and `#` lines skipped. */
export function contentLines(text: string): [number, string][] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .map((l, i): [number, string] => [i + 1, l.trim()])
    .filter(([, l]) => l !== '' && !l.startsWith('#'));
}
