// Just enough MQTT 3.1.1 for the load generator: pre-encoded packets and a frame splitter that
// counts PUBLISHes and pulls out packet ids. Written for speed, not validation: the broker under
// test is the thing being measured, never this.
import net from 'node:net';

export function connectPacket(clientId, { clean = true, keepalive = 0 } = {}) {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, clean ? 2 : 0, keepalive >> 8, keepalive & 255, id.length >> 8, id.length & 255]), id]);
  return Buffer.concat([header(0x10, body.length), body]);
}

export function subscribePacket(packetId, filter, qos) {
  const f = Buffer.from(filter);
  const body = Buffer.concat([Buffer.from([packetId >> 8, packetId & 255, f.length >> 8, f.length & 255]), f, Buffer.from([qos])]);
  return Buffer.concat([header(0x82, body.length), body]);
}

/** A PUBLISH; for QoS > 0 the packet id sits at `idOffset` so it can be patched in place. */
export function publishPacket(topic, payload, qos = 0, retain = false, packetId = 1) {
  const t = Buffer.from(topic);
  const idLen = qos > 0 ? 2 : 0;
  const rl = 2 + t.length + idLen + payload.length;
  const h = header(0x30 | (qos << 1) | (retain ? 1 : 0), rl);
  const buf = Buffer.concat([h, Buffer.from([t.length >> 8, t.length & 255]), t, Buffer.alloc(idLen), payload]);
  const idOffset = h.length + 2 + t.length;
  if (qos > 0) buf.writeUInt16BE(packetId, idOffset);
  return { buf, idOffset, payloadOffset: idOffset + idLen };
}

export function ack(type, packetId) {
  return Buffer.from([(type << 4) | (type === 6 ? 2 : 0), 2, packetId >> 8, packetId & 255]);
}

export const DISCONNECT = Buffer.from([0xe0, 0]);

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

/**
 * Connects a load client: sends CONNECT (plus `extra` packets) and resolves after CONNACK and
 * `acksWanted` SUBACKs; every later packet goes to onPacket(type, flags, buf, bodyStart, bodyEnd).
 */
export function openClient(port, id, { clean = true, keepalive = 0, onPacket, extra = [], acksWanted = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let setup = 1 + acksWanted;
    const c = { socket, frames: null };
    c.frames = new Frames((type, flags, buf, s, e) => {
      if (setup > 0 && (type === 2 || type === 9)) {
        if (type === 2 && buf[s + 1] !== 0) reject(new Error(`CONNACK ${buf[s + 1]} for ${id}`));
        if (--setup === 0) resolve(c);
        return;
      }
      onPacket?.(type, flags, buf, s, e);
    });
    socket.on('data', (d) => c.frames.push(d));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(Buffer.concat([connectPacket(id, { clean, keepalive }), ...extra])));
  });
}
