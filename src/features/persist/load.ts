// Start-up: read the snapshot and the journal, keep every valid record up to the first damaged
// one, move a damaged file aside as FILE.corrupt-<timestamp>, and say what was recovered and lost.
import { readFileSync, renameSync } from 'node:fs';
import { log } from '../../util/log.ts';
import { type Header, KIND_JOURNAL, KIND_SNAPSHOT, readHeader, readRecords, VERSION } from './format.ts';
import type { Image } from './image.ts';

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read persistence file ${path}: ${(err as Error).message}`);
  }
}

function moveAside(path: string, why: string, kept: string): void {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const aside = `${path}.corrupt-${stamp}`;
  try {
    renameSync(path, aside);
    log.error(`Persistence: ${path} is damaged (${why}); ${kept}. The file was moved to ${aside}.`);
  } catch (err) {
    log.error(`Persistence: ${path} is damaged (${why}); ${kept}. Moving it aside failed: ${(err as Error).message}.`);
  }
}

/** Applies one file's records to `image`. Returns its header, or undefined if none was usable. */
function loadFile(path: string, kind: number, image: Image, accept?: (h: Header) => boolean): Header | undefined {
  const data = read(path);
  if (!data) return undefined;
  const h = readHeader(data);
  const what = kind === KIND_SNAPSHOT ? 'snapshot' : 'journal';
  if (typeof h === 'string' || h.version !== VERSION || h.kind !== kind) {
    const why =
      typeof h === 'string' ? h : h.version !== VERSION ? `unsupported format version ${h.version}, this Midge reads ${VERSION}` : `not a ${what} file`;
    moveAside(path, why, `nothing could be read from its ${data.length} bytes`);
    return undefined;
  }
  if (accept && !accept(h)) return h;
  const r = readRecords(data, (body) => image.apply(body));
  if (r.damage) {
    moveAside(path, r.damage, `kept the first ${r.records} records (${r.validBytes} bytes), lost the last ${data.length - r.validBytes} bytes`);
  } else if (r.records > 0) {
    log.info(`Persistence: read ${r.records} records from the ${what} ${path}.`);
  }
  return h;
}

/** Loads snapshot then journal into `image`; returns the generation to continue from. */
export function loadState(file: string, image: Image): number {
  const snap = loadFile(file, KIND_SNAPSHOT, image);
  const journalPath = `${file}.journal`;
  const journal = loadFile(journalPath, KIND_JOURNAL, image, (h) => {
    // A journal older than the snapshot was folded into it before a crash: skip it. One newer than
    // the snapshot means the snapshot was lost or replaced; its changes are still worth having.
    if (snap && h.generation < snap.generation) {
      log.info(`Persistence: ignoring ${journalPath} (generation ${h.generation}, already in the snapshot of generation ${snap.generation}).`);
      return false;
    }
    if (h.generation !== (snap?.generation ?? h.generation)) {
      log.warning(`Persistence: ${journalPath} (generation ${h.generation}) does not follow the snapshot (generation ${snap?.generation}); applying it anyway.`);
    }
    return true;
  });
  if (image.unresolved > 0) {
    log.warning(`Persistence: ${image.unresolved} journal records referred to state lost with a damaged file and were skipped.`);
  }
  return Math.max(snap?.generation ?? 0, journal?.generation ?? 0);
}
