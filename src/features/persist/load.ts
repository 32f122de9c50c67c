// Start-up: read the snapshot and the journal, keep every valid record up to the first damaged
// one, move a damaged file aside as FILE.corrupt-<timestamp>, and say what was recovered and lost.
import { readFileSync, renameSync } from 'node:fs';
import { log } from '../../util/log.ts';
import { type Header, KIND_JOURNAL, KIND_SNAPSHOT, OLDEST, readHeader, readRecords, VERSION } from './format.ts';
import type { Image } from './image.ts';

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function moveAside(path: string, why: string, kept: string): void {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const aside = `${path}.corrupt-${stamp}`;
  let moved = `moved to ${aside}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    moved = `not moved: ${(err as Error).message}`;
  }
  log.error(`${path} is damaged (${why}); ${kept}; ${moved}.`);
}

interface Loaded {
  /** Undefined when the header was unusable. */
  h?: Header;
  records: number;
  damaged: boolean;
  size: number;
}

/** Applies one file's records to `image`; undefined if there is no such file. */
function loadFile(path: string, kind: number, image: Image, accept?: (h: Header) => boolean): Loaded | undefined {
  const data = read(path);
  if (!data) return undefined;
  const h = readHeader(data);
  const known = typeof h !== 'string' && h.version >= OLDEST && h.version <= VERSION;
  if (typeof h === 'string' || !known || h.kind !== kind) {
    const why =
      typeof h === 'string' ? h : !known ? `format version ${h.version}, this Midge reads ${OLDEST} to ${VERSION}` : 'wrong kind';
    moveAside(path, why, `lost all ${data.length} bytes`);
    return { records: 0, damaged: true, size: data.length };
  }
  if (accept && !accept(h)) return { h, records: 0, damaged: false, size: data.length };
  const r = readRecords(data, (body) => image.apply(body));
  if (r.damage) {
    moveAside(path, r.damage, `kept ${r.records} records, lost the last ${data.length - r.validBytes} bytes`);
  }
  return { h, records: r.records, damaged: r.damage !== undefined, size: data.length };
}

export interface LoadResult {
  generation: number;
  snapshotBytes: number;
  /**
   * Whether a new snapshot must be written now: the snapshot is missing, damaged or of an older
   * format version, or the journal holds changes (or damage). Otherwise the files on disk already
   * say it all, and start-up rewrites only the (empty) journal: no whole-file write at every boot.
   */
  fold: boolean;
}

/** Loads snapshot then journal into `image`. */
export function loadState(file: string, image: Image): LoadResult {
  const snap = loadFile(file, KIND_SNAPSHOT, image);
  const journalPath = `${file}.journal`;
  const journal = loadFile(journalPath, KIND_JOURNAL, image, (h) => {
    // A journal older than the snapshot was folded into it before a crash: skip it. One newer than
    // the snapshot means the snapshot was lost or replaced; its changes are still worth having.
    const sg = snap?.h?.generation;
    if (sg !== undefined && h.generation < sg) {
      log.info(`Ignoring ${journalPath}: generation ${h.generation}, the snapshot's is ${sg}.`);
      return false;
    }
    return true;
  });
  const sg = snap?.h?.generation ?? 0;
  const jg = journal?.h?.generation ?? 0;
  return {
    generation: Math.max(sg, jg),
    snapshotBytes: snap?.size ?? 0,
    fold: !snap?.h || snap.damaged || snap.h.version < VERSION || (journal !== undefined && (journal.damaged || journal.records > 0 || jg > sg)),
  };
}
