// Midge's on-disk persistence format, version 2 (reads version 1 too). Midge owns it; it is not
// Mosquitto's.
//
// Two files in persistence_location: the snapshot PERSISTENCE_FILE (default midge.db) and the
// journal PERSISTENCE_FILE.journal. Both are a 16-byte header followed by records.
//
//   header   "MIDG" | u8 version (2) | u8 kind ('S' snapshot, 'J' journal) | u16 0
//            | u32 generation | u32 CRC-32 of the 12 bytes before it
//   record   u32 body length | u32 CRC-32 of the body | body
//   body     u8 type, then the type's fields. Integers are little-endian; str = u16 byte length +
//            UTF-8; bin = u32 byte length + bytes.
//
//   type  name     fields                                        meaning
//   1     MSG      u32 id, u8 qos, u8 retain, str topic, bin payload, [v5]   a message stored sessions refer to
//   2     RETAIN   str topic, u8 qos, bin payload, [v5]             set the retained message (empty payload: delete)
//   3     SESSION  str client                                      a new, empty persistent session
//   4     DROP     str client                                      the session is gone
//   5     SUB      str client, str filter, u8 options, [u32 sub id]   subscription added or replaced
//   6     UNSUB    str client, str filter                          subscription removed
//   7     STORE    str client, u32 message id, u8 qos, u8 retain   message appended to the session's queue
//   8     SENT     str client, u16 packet id                       the oldest queued message went out with this id
//   9     REL      str client, u16 packet id                       PUBREC received: PUBREL sent, awaiting PUBCOMP
//   10    DONE     str client, u16 packet id                       PUBACK/PUBCOMP received: message finished
//   11    IN       str client, u16 packet id                       inbound QoS 2 id passed on, awaiting PUBREL
//   12    INREL    str client, u16 packet id                       PUBREL received for that id
//   13    USER     str client, u8 has username, [str username]     the username it last connected with
//   14    EXPIRY   str client, u32 seconds                         MQTT 5 session expiry interval (v2)
//
// Version 2 adds MQTT 5 state as optional fields at the end of a record (present only when there is
// something to say, so a version 1 record is a valid version 2 record) and the EXPIRY record:
//   [v5]      u32 expiry, bin properties: the moment the message expires (Unix seconds, 0 = never),
//             and its MQTT 5 properties as a PUBLISH carries them (§3.3.2.3: payload format,
//             message expiry interval, content type, response topic, correlation data, user
//             properties in order).
//   options   bits 0-1 the QoS (all that version 1 wrote), 2 No Local, 3 Retain As Published, as
//             in SUBSCRIBE (§3.8.3.1; Retain Handling only matters when subscribing: not kept);
//             [u32 sub id] the subscription identifier, if it has one.
//
// A snapshot is the record stream that rebuilds the whole state from nothing; the journal holds the
// changes made after the snapshot of the same generation. A snapshot is written to a temporary
// file, fsynced and renamed over the old one (then the directory is fsynced); the journal is then
// replaced by an empty one of the new generation, so a journal older than the snapshot is stale
// and ignored. Message ids are only meaningful within one generation.
import * as zlib from 'node:zlib';

export const MAGIC = 'MIDG';
export const VERSION = 2;
/** The oldest version this Midge reads. */
export const OLDEST = 1;
export const HEADER_SIZE = 16;
export const KIND_SNAPSHOT = 0x53; // 'S'
export const KIND_JOURNAL = 0x4a; // 'J'

export const R_MSG = 1;
export const R_RETAIN = 2;
export const R_SESSION = 3;
export const R_DROP = 4;
export const R_SUB = 5;
export const R_UNSUB = 6;
export const R_STORE = 7;
export const R_SENT = 8;
export const R_REL = 9;
export const R_DONE = 10;
export const R_IN = 11;
export const R_INREL = 12;
export const R_USER = 13;
export const R_EXPIRY = 14;

/** Larger than any record Midge writes (a maximum payload plus a topic); larger means damage. */
const MAX_BODY = 268435455 + 65546 + 64;

let table: Int32Array | undefined;

/** CRC-32 (IEEE, as zlib and PNG), table-driven: for Nodes before 20.15, whose zlib lacks crc32. */
export function crc32Table(b: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC-32 of `b`: node:zlib's native one where it exists (Node 20.15+), else the table. */
export const crc32: (b: Uint8Array) => number = (zlib as { crc32?: (d: Uint8Array) => number }).crc32 ?? crc32Table;

export function header(kind: number, generation: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.write(MAGIC, 0, 'latin1');
  h[4] = VERSION;
  h[5] = kind;
  h.writeUInt32LE(generation >>> 0, 8);
  h.writeUInt32LE(crc32(h.subarray(0, 12)), 12);
  return h;
}

/** Room every record may use for fixed-size fields between str()/bin() calls, which make more. */
const SLACK = 32;

/** Encodes records into one growing buffer; take() hands the bytes over and starts again. */
export class RecordWriter {
  private buf = Buffer.allocUnsafe(16384);
  private start = 0;
  length = 0;

  private room(n: number): void {
    const need = this.length + n + SLACK;
    if (need <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, need));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  begin(type: number): this {
    this.room(0);
    this.start = this.length;
    this.buf[this.length + 8] = type;
    this.length += 9;
    return this;
  }

  u8(v: number): this {
    this.buf[this.length++] = v;
    return this;
  }

  u16(v: number): this {
    this.length = this.buf.writeUInt16LE(v, this.length);
    return this;
  }

  u32(v: number): this {
    this.length = this.buf.writeUInt32LE(v, this.length);
    return this;
  }

  str(s: string): this {
    const n = Buffer.byteLength(s);
    this.room(n);
    this.u16(n).length += this.buf.write(s, this.length);
    return this;
  }

  bin(b: Buffer): this {
    this.room(b.length);
    this.u32(b.length).length += b.copy(this.buf, this.length);
    return this;
  }

  end(): void {
    const body = this.buf.subarray(this.start + 8, this.length);
    this.buf.writeUInt32LE(body.length, this.start);
    this.buf.writeUInt32LE(crc32(body), this.start + 4);
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(16384); // don't keep a big one
    return out;
  }
}

/** Reads the fields of one record body; reading past its end throws (the record is malformed). */
export class BodyReader {
  pos = 1;
  constructor(readonly b: Buffer) {}

  get type(): number {
    return this.b[0];
  }

  /** Whether optional fields follow (version 2 tails). */
  get more(): boolean {
    return this.pos < this.b.length;
  }

  u8(): number {
    return this.b.readUInt8(this.pos++);
  }

  u16(): number {
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  private bytes(n: number): Buffer {
    const end = this.pos + n;
    if (end > this.b.length) throw new Error('record too short');
    const v = this.b.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  str(): string {
    return this.bytes(this.u16()).toString();
  }

  /** A copy, so payloads kept do not pin the whole file; `view` when the caller copies anyway. */
  bin(view = false): Buffer {
    const v = this.bytes(this.u32());
    return view ? v : Buffer.from(v);
  }
}

export interface Header {
  version: number;
  kind: number;
  generation: number;
}

/** The header of a file, or why it is not one of ours. */
export function readHeader(data: Buffer): Header | string {
  if (data.length < HEADER_SIZE) return `${data.length}-byte file, shorter than a header`;
  if (data.toString('latin1', 0, 4) !== MAGIC) return 'bad magic';
  if (data.readUInt32LE(12) !== crc32(data.subarray(0, 12))) return 'bad header checksum';
  return { version: data[4], kind: data[5], generation: data.readUInt32LE(8) };
}

export interface ReadResult {
  records: number;
  /** Byte offset where the valid records end. */
  validBytes: number;
  /** Why reading stopped before the end of the file, if it did. */
  damage?: string;
}

/**
 * Calls `apply` for each valid record after the header, in order, up to the first damaged one
 * (truncated, checksum mismatch, or a body `apply` cannot read).
 */
export function readRecords(data: Buffer, apply: (r: BodyReader) => void): ReadResult {
  let pos = HEADER_SIZE;
  let records = 0;
  while (pos < data.length) {
    if (data.length - pos < 8) return { records, validBytes: pos, damage: `truncated at byte ${pos}` };
    const len = data.readUInt32LE(pos);
    if (len === 0 || len > MAX_BODY) return { records, validBytes: pos, damage: `bad length at byte ${pos}` };
    if (pos + 8 + len > data.length) return { records, validBytes: pos, damage: `truncated at byte ${pos}` };
    const body = data.subarray(pos + 8, pos + 8 + len);
    if (crc32(body) !== data.readUInt32LE(pos + 4)) return { records, validBytes: pos, damage: `bad checksum at byte ${pos}` };
    try {
      apply(new BodyReader(body));
    } catch (err) {
      return { records, validBytes: pos, damage: `bad record at byte ${pos}: ${(err as Error).message}` };
    }
    records++;
    pos += 8 + len;
  }
  return { records, validBytes: pos };
}
