// Just enough MQTT 3.1.1 and 5.0 for the load generator: pre-encoded packets and a frame splitter
// that counts PUBLISHes and pulls out packet ids. Written for speed, not validation: the broker
// under test is the thing being measured, never this. `version` is the protocol level, 4 (3.1.1)
// or 5; a v5 packet here always carries an empty property section (one 0 byte), so a v5 flow costs
// the generator the same as a 3.1.1 one.
import net from 'node:net';

// An empty v5 property section: property length 0.
const noProps = (version) => Buffer.alloc(version === 5 ? 1 : 0);

export function connectPacket(clientId, { clean = true, keepalive = 0, version = 4 } = {}) {
  const id = Buffer.from(clientId);
  const vh = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, version, clean ? 2 : 0, keepalive >> 8, keepalive & 255]);
  const body = Buffer.concat([vh, noProps(version), Buffer.from([id.length >> 8, id.length & 255]), id]);
  return Buffer.concat([header(0x10, body.length), body]);
}

/** A SUBSCRIBE of one filter; in v5 the last byte is the options byte (QoS only, other options 0). */
export function subscribePacket(packetId, filter, qos, version = 4) {
  const f = Buffer.from(filter);
  const body = Buffer.concat([Buffer.from([packetId >> 8, packetId & 255]), noProps(version), Buffer.from([f.length >> 8, f.length & 255]), f, Buffer.from([qos])]);
  return Buffer.concat([header(0x82, body.length), body]);
}

/** A PUBLISH; for QoS > 0 the packet id sits at `idOffset` so it can be patched in place. */
export function publishPacket(topic, payload, qos = 0, retain = false, packetId = 1, version = 4) {
  const t = Buffer.from(topic);
  const idLen = qos > 0 ? 2 : 0;
  const props = noProps(version);
  const rl = 2 + t.length + idLen + props.length + payload.length;
  const h = header(0x30 | (qos << 1) | (retain ? 1 : 0), rl);
  const buf = Buffer.concat([h, Buffer.from([t.length >> 8, t.length & 255]), t, Buffer.alloc(idLen), props, payload]);
  const idOffset = h.length + 2 + t.length;
  if (qos > 0) buf.writeUInt16BE(packetId, idOffset);
  return { buf, idOffset, payloadOffset: idOffset + idLen + props.length };
}

/**
 * PUBACK, PUBREC, PUBREL or PUBCOMP. The same bytes serve v5: a remaining length of 2 means
 * reason code 0 (success) and no properties.
 */
export function ack(type, packetId) {
  return Buffer.from([(type << 4) | (type === 6 ? 2 : 0), 2, packetId >> 8, packetId & 255]);
}

/** Also a v5 DISCONNECT: reason code 0 (normal) may be left out. */
export const DISCONNECT = Buffer.from([0xe0, 0]);

/**
 * Where the payload of an incoming PUBLISH (body from `s`) starts: after the topic, the packet id
 * (QoS > 0, from the header flags) and, in v5, the property section (a variable byte integer
 * length and that many bytes). Reads offsets only; allocates nothing.
 */
export function payloadStart(flags, buf, s, version) {
  let i = s + 2 + ((buf[s] << 8) | buf[s + 1]) + (flags & 6 ? 2 : 0);
  if (version !== 5) return i;
  let len = 0;
  for (let k = 0, mul = 1; k < 4 && i < buf.length; k++, mul *= 128) {
    const b = buf[i++];
    len += (b & 127) * mul;
    if (b < 128) return i + len;
  }
  return -1; // malformed property length
}

function header(b1, len) {
  const bytes = [b1];
  do {
    let d = len % 128;
    len = Math.floor(len / 128);
    if (len > 0) d |= 128;
    bytes.push(d);
  } while (len > 0);
  return Buffer.from(bytes);
}

/**
 * Splits a byte stream into packets and calls onPacket(type, flags, buf, bodyStart, bodyEnd).
 * Keeps only the unfinished tail between chunks.
 */
export class Frames {
  constructor(onPacket) {
    this.onPacket = onPacket;
    this.tail = null;
  }
  push(chunk) {
    let buf = chunk;
    if (this.tail) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n) {
      if (pos + 2 > n) break;
      let mul = 1;
      let len = 0;
      let i = pos + 1;
      let done = false;
      while (i < n && i < pos + 5) {
        const b = buf[i++];
        len += (b & 127) * mul;
        mul *= 128;
        if ((b & 128) === 0) {
          done = true;
          break;
        }
      }
      if (!done || i + len > n) break;
      this.onPacket(buf[pos] >> 4, buf[pos] & 15, buf, i, i + len);
      pos = i + len;
    }
    if (pos < n) this.tail = buf.subarray(pos);
  }
}

/** Bytes after each fixed-size v5 property id (those a CONNACK may carry); others are strings. */
const PROP_SIZE = { 0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x17: 1, 0x18: 4, 0x19: 1, 0x21: 2, 0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1 };

/**
 * The Receive Maximum (property 0x21) of a v5 CONNACK's property section starting at `i`, or
 * 65 535 (the spec's default) when absent or unreadable: how many QoS 1/2 PUBLISHes a client may
 * have unacknowledged towards this broker.
 */
export function receiveMaximum(buf, i, end) {
  let len = 0;
  for (let k = 0, mul = 1; k < 4 && i < end; k++, mul *= 128) {
    const b = buf[i++];
    len += (b & 127) * mul;
    if (b < 128) break;
  }
  const stop = Math.min(end, i + len);
  while (i < stop) {
    const id = buf[i++];
    if (id === 0x21) return i + 2 <= stop ? (buf[i] << 8) | buf[i + 1] : 65535;
    if (PROP_SIZE[id]) i += PROP_SIZE[id];
    else {
      // A string or binary data; a user property (0x26) is two strings.
      i += 2 + ((buf[i] << 8) | buf[i + 1]);
      if (id === 0x26) i += 2 + ((buf[i] << 8) | buf[i + 1]);
    }
  }
  return 65535;
}

export const hex = (b) => `0x${b.toString(16).padStart(2, '0')}`;

/**
 * Connects a load client: sends CONNECT (plus `extra` packets) and resolves after CONNACK and
 * `acksWanted` SUBACKs; every later packet goes to onPacket(type, flags, buf, bodyStart, bodyEnd).
 * `receiveMaximum` is the broker's Receive Maximum from a v5 CONNACK (65 535 otherwise).
 * Rejects, with the reason in the message, when the broker refuses the CONNECT (a non-zero return
 * or reason code: a 3.1.1-only broker answers a v5 CONNECT so), refuses the subscription, or closes
 * the connection before all that.
 */
export function openClient(port, id, { clean = true, keepalive = 0, version = 4, onPacket, extra = [], acksWanted = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let setup = 1 + acksWanted;
    const c = { socket, frames: null, receiveMaximum: 65535 };
    c.frames = new Frames((type, flags, buf, s, e) => {
      if (setup > 0 && (type === 2 || type === 9)) {
        // CONNACK: the code is the second byte in both versions; SUBACK (one filter): the last.
        const code = type === 2 ? buf[s + 1] : buf[e - 1];
        if (type === 2 && version === 5) c.receiveMaximum = receiveMaximum(buf, s + 2, e);
        if (type === 2 ? code !== 0 : code >= 0x80) {
          reject(new Error(`${type === 2 ? 'CONNACK' : 'SUBACK'} ${hex(code)}`));
          socket.destroy();
        }
        if (--setup === 0) resolve(c);
        return;
      }
      if (type === 14) c.reason = e > s ? buf[s] : 0; // a v5 broker says why it disconnects
      onPacket?.(type, flags, buf, s, e);
    });
    socket.on('data', (d) => c.frames.push(d));
    socket.on('error', reject);
    socket.on('close', () => setup > 0 && reject(new Error(`connection closed before ${setup > acksWanted ? 'CONNACK' : 'SUBACK'}`)));
    socket.on('connect', () => socket.write(Buffer.concat([connectPacket(id, { clean, keepalive, version }), ...extra])));
  });
}
