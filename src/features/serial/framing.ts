// Byte-stream framers for serial links: pure classes, bytes in, frames out, so they can be tested
// without a port. Each bounds what it buffers, and recovers from noise and from a device that
// resets mid-frame (the next good frame comes through).

/** SLIP (RFC 1055) special bytes. */
const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

/** One SLIP frame: END, the escaped bytes, END (the leading END flushes line noise at the peer). */
export function slipEncode(data: Buffer): Buffer {
  let n = data.length + 2;
  for (const b of data) if (b === END || b === ESC) n++;
  const out = Buffer.allocUnsafe(n);
  let j = 0;
  out[j++] = END;
  for (const b of data) {
    if (b === END) {
      out[j++] = ESC;
      out[j++] = ESC_END;
    } else if (b === ESC) {
      out[j++] = ESC;
      out[j++] = ESC_ESC;
    } else out[j++] = b;
  }
  out[j] = END;
  return out;
}

/** A decoder's bounded buffer and its count of what it dropped. */
class Framer {
  /** Frames, packets, lines or bytes dropped. */
  dropped = 0;
  protected readonly buf: Buffer;
  protected len = 0;

  constructor(readonly max: number) {
    this.buf = Buffer.allocUnsafe(max);
  }
}

/**
 * SLIP decoder. A frame with a bad escape or longer than `max` is dropped whole (up to its END):
 * a corrupted MQTT-SN packet is worse than a lost one, which the protocol retries.
 */
export class SlipDecoder extends Framer {
  private esc = false;
  private bad = false;

  push(chunk: Buffer, emit: (frame: Buffer) => void): void {
    for (const b of chunk) {
      if (b === END) {
        if (this.bad || this.esc) this.dropped++;
        else if (this.len > 0) emit(Buffer.from(this.buf.subarray(0, this.len)));
        this.len = 0;
        this.esc = this.bad = false;
        continue;
      }
      if (this.bad) continue;
      let v = b;
      if (this.esc) {
        this.esc = false;
        if (b === ESC_END) v = END;
        else if (b === ESC_ESC) v = ESC;
        else {
          this.bad = true;
          continue;
        }
      } else if (b === ESC) {
        this.esc = true;
        continue;
      }
      if (this.len === this.max) {
        this.bad = true;
        continue;
      }
      this.buf[this.len++] = v;
    }
  }
}

/**
 * Bare MQTT-SN packets on a byte stream, as Arduino MQTT-SN libraries write them: the packet's own
 * Length field (1 byte, or 0x01 and 2 bytes) frames it; a forwarder's encapsulated packet is its
 * header and the message after it. Nothing marks a packet's start, so
 * resynchronisation relies on two rules: a length that cannot be (below the header's size, above
 * `max`) drops the byte that carried it, and a gap longer than `gapMs` between the bytes of one
 * packet drops what was received of it (the sender stopped, e.g. it was reset).
 */
export class SnStreamDecoder extends Framer {
  private lastAt = 0;

  constructor(
    max: number,
    readonly gapMs: number,
  ) {
    super(max);
  }

  /** `now`: the arrival time in ms (a parameter, so tests can play gaps without waiting). */
  push(chunk: Buffer, now: number, emit: (packet: Buffer) => void): void {
    if (this.len > 0 && now - this.lastAt > this.gapMs) {
      this.len = 0;
      this.dropped++;
    }
    this.lastAt = now;
    for (const b of chunk) {
      this.buf[this.len++] = b;
      this.scan(emit);
    }
  }

  /** Emits a complete packet at the buffer's start; on an impossible length, drops a byte and looks again. */
  private scan(emit: (packet: Buffer) => void): void {
    const buf = this.buf;
    while (this.len > 0) {
      let need: number;
      if (buf[0] === 0x01) {
        if (this.len < 3) return;
        need = buf.readUInt16BE(1);
        // The 3-byte form is only for packets of 256 bytes or more (spec 5.2.1).
        if (need < 256 || need > this.max) need = 0;
      } else {
        need = buf[0];
        if (need < 2 || need > this.max) need = 0;
        else {
          if (this.len < 2) return;
          // A forwarder's encapsulation (MQTT-SN 5.5): Length counts the header alone (Length,
          // 0xFE, Ctrl, node id), and the message follows with its own Length.
          if (buf[1] === 0xfe && need >= 3) {
            if (this.len < need + 1) return;
            let inner = buf[need];
            if (inner === 0x01) {
              if (this.len < need + 3) return;
              inner = buf.readUInt16BE(need + 1);
              if (inner < 256) inner = 0;
            }
            need = inner < 2 || need + inner > this.max ? 0 : need + inner;
          }
        }
      }
      if (need === 0) {
        this.dropped++;
        buf.copyWithin(0, 1, this.len--);
        continue;
      }
      if (this.len < need) return;
      emit(Buffer.from(buf.subarray(0, need)));
      buf.copyWithin(0, need, this.len);
      this.len -= need;
    }
  }
}

/**
 * Text lines (LF or CRLF). A line over `max` bytes or not valid UTF-8 is dropped and counted.
 */
export class LineDecoder extends Framer {
  private over = false;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Buffer, emit: (line: string) => void): void {
    for (const b of chunk) {
      if (b === 0x0a) {
        let n = this.len;
        if (n > 0 && this.buf[n - 1] === 0x0d) n--;
        if (this.over) this.dropped++;
        else {
          let s: string | undefined;
          try {
            s = this.utf8.decode(this.buf.subarray(0, n));
          } catch {
            this.dropped++;
          }
          if (s !== undefined) emit(s);
        }
        this.len = 0;
        this.over = false;
      } else if (this.len === this.max) this.over = true;
      else this.buf[this.len++] = b;
    }
  }
}
