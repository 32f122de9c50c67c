// How `midge sub` prints a message: "payload", -v "topic payload", or a -F format string with
// mosquitto_sub's sequences (%t %p %q %r %l %m %x %X %I %U %j %J %%, @ time fields, \ escapes;
// flags '-' and '0', a width and a .max width where mosquitto_sub takes them). The output bytes
// are mosquitto_sub's for the same message (test/client/pub-sub.test.ts).
import type { PublishPacket } from '../codec/packets.ts';
import { ArgError } from './args.ts';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local time as strftime's "%Y-%m-%dT%H:%M:%S" and its "%z". */
function local(d: Date): [string, string] {
  const off = -d.getTimezoneOffset();
  const z = `${off < 0 ? '-' : '+'}${pad2(Math.floor(Math.abs(off) / 60))}${pad2(Math.abs(off) % 60)}`;
  return [`${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`, z];
}

/** The strftime fields @X that mosquitto_sub users reach for, and @N (nanoseconds). */
function timeField(c: string, d: Date, ns: string): string | undefined {
  const [iso, z] = local(d);
  switch (c) {
    case 'Y':
      return iso.slice(0, 4);
    case 'm':
      return iso.slice(5, 7);
    case 'd':
      return iso.slice(8, 10);
    case 'H':
      return iso.slice(11, 13);
    case 'M':
      return iso.slice(14, 16);
    case 'S':
      return iso.slice(17, 19);
    case 'F':
      return iso.slice(0, 10);
    case 'T':
      return iso.slice(11);
    case 'z':
      return z;
    case 's':
      return String(Math.floor(d.getTime() / 1000));
    case 'N':
      return ns;
    case '@':
      return '@';
  }
  return undefined;
}

const ESCAPES: Record<string, string> = { '\\': '\\', '0': '\0', a: '\x07', e: '\x1b', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Throws mosquitto_sub's error for an unknown %, @ or \ sequence in `f` (checked before connecting). */
export function checkFormat(f: string): void {
  const m = /%[-0]*\d*(?:\.\d+)?([^-0-9.])/g;
  for (let x; (x = m.exec(f)); ) if (!'%tpqrlmxXIUjJ'.includes(x[1])) throw new ArgError(`Invalid format specifier '${x[1]}'.\n`);
}

/** The bytes printed for `p` (before the end of line, which the caller adds unless -N); none: print nothing. */
export function formatMessage(p: PublishPacket, verbose: boolean, format: string | undefined, eol: boolean): Buffer[] {
  if (format === undefined) {
    // An empty message prints nothing, or with -v "topic (null)" (not at all with -N).
    if (!p.payload.length) return verbose && eol ? [Buffer.from(`${p.topic} (null)`)] : [];
    return verbose ? [Buffer.from(`${p.topic} `), p.payload] : [p.payload];
  }
  const out: Buffer[] = [];
  const now = Date.now();
  const d = new Date(now);
  // Node's clock has millisecond resolution here; the rest of the nanoseconds are zero.
  const ns = `${String(now % 1000).padStart(3, '0')}000000`;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === '%') {
      const m = /^([-0]*)(\d*)(?:\.(\d+))?(.)/.exec(format.slice(i + 1));
      if (!m) break;
      i += m[0].length;
      const [, flags, width, max, spec] = m;
      const w = Number(width || 0);
      const left = flags.includes('-');
      const field = (s: string, zero = false): string => (left ? s.padEnd(w) : s.padStart(w, zero && flags.includes('0') ? '0' : ' '));
      let s: string | Buffer = '';
      switch (spec) {
        case '%':
          s = '%';
          break;
        case 't':
          s = field(max ? p.topic.slice(0, Number(max)) : p.topic);
          break;
        case 'p':
          s = p.payload;
          break;
        case 'q':
          s = String(p.qos);
          break;
        case 'r':
          s = p.retain ? '1' : '0';
          break;
        case 'l':
          s = field(String(p.payload.length), true);
          break;
        case 'm':
          s = field(String(p.packetId), true);
          break;
        case 'x':
          s = p.payload.toString('hex');
          break;
        case 'X':
          s = p.payload.toString('hex').toUpperCase();
          break;
        case 'I': {
          const [iso, z] = local(d);
          s = iso + z;
          break;
        }
        case 'U':
          s = `${Math.floor(now / 1000)}.${ns}`;
          break;
        case 'j':
        case 'J': {
          const [iso, z] = local(d);
          let body: string;
          if (spec === 'j') body = JSON.stringify(p.payload.toString());
          else {
            try {
              body = JSON.stringify(JSON.parse(p.payload.toString()));
            } catch {
              process.stderr.write(`Error: Message payload is not valid JSON on topic ${p.topic}.\n`);
              continue;
            }
          }
          s = `{"tst":"${iso}.${ns.slice(0, 6)}Z${z}","topic":${JSON.stringify(p.topic)},"qos":${p.qos},"retain":${p.retain ? 1 : 0},"payloadlen":${p.payload.length},"payload":${body}}`;
          break;
        }
      }
      out.push(typeof s === 'string' ? Buffer.from(s) : s);
    } else if (c === '@' && i + 1 < format.length) {
      out.push(Buffer.from(timeField(format[++i], d, ns) ?? ''));
    } else if (c === '\\' && i + 1 < format.length) {
      out.push(Buffer.from(ESCAPES[format[++i]] ?? ''));
    } else {
      out.push(Buffer.from(c));
    }
  }
  return out;
}
