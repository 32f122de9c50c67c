// `midge pub`: publishes one message (-m, -f, -n, -s) or one per line of stdin (-l), waits for
// the broker's acknowledgements at QoS 1 and 2, and disconnects: mosquitto_pub's behaviour,
// with its -d lines.
import type { PublishPacket } from '../codec/packets.ts';
import type { ClientArgs } from './args.ts';
import { Connection } from './connection.ts';

/** Publishes as `a` says; resolves with the exit code. Connection failures throw an Exit. */
export async function runPub(a: ClientArgs): Promise<number> {
  const c = new Connection(a);
  await Promise.race([c.ready, c.lost]);
  let mid = 0;
  // Packet ids waiting for PUBACK / PUBCOMP, and what to call when the last one arrives.
  const waiting = new Set<number>();
  let idle: (() => void) | undefined;
  const acked = (id: number): void => {
    waiting.delete(id);
    if (!waiting.size) idle?.();
  };
  c.onPacket = (p) => {
    if (p.type === 4 || p.type === 7) {
      c.debug(`received ${p.type === 4 ? 'PUBACK' : 'PUBCOMP'} (Mid: ${p.packetId}, RC:${p.reasonCode ?? 0})`);
      acked(p.packetId);
    } else if (p.type === 5) {
      c.debug(`received PUBREC (Mid: ${p.packetId})`);
      // MQTT 5: a PUBREC with an error reason code (0x80 or more) ends the exchange: no PUBREL.
      if ((p.reasonCode ?? 0) >= 0x80) return acked(p.packetId);
      c.send({ type: 6, packetId: p.packetId }, `PUBREL (m${p.packetId})`);
    }
  };
  const publish = (payload: Buffer): void => {
    mid = (mid % 65535) + 1;
    const p: PublishPacket = {
      type: 3,
      dup: false,
      qos: a.qos,
      retain: a.retain,
      topic: a.topics[0],
      packetId: a.qos ? mid : 0,
      payload,
      properties: MQTT5 && a.level === 5 ? a.props.PUBLISH : undefined,
    };
    if (a.qos) waiting.add(mid);
    c.send(p, Connection.describe(p, mid));
  };
  let input: Promise<void> = Promise.resolve();
  if (a.message) publish(a.message);
  else {
    // -l: a message per line (without its newline, empty lines too, and a last line without
    // one); -s: all of stdin as one message.
    input = new Promise((resolve) => {
      const parts: Buffer[] = [];
      process.stdin.on('data', (chunk: Buffer) => {
        if (!a.lines) return void parts.push(chunk);
        let s = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, s)) {
          parts.push(chunk.subarray(s, nl));
          publish(Buffer.concat(parts));
          parts.length = 0;
          s = nl + 1;
        }
        if (s < chunk.length) parts.push(chunk.subarray(s));
      });
      process.stdin.once('end', () => {
        const rest = Buffer.concat(parts);
        if (!a.lines || rest.length) publish(rest);
        process.stdin.destroy();
        resolve();
      });
    });
  }
  await Promise.race([input, c.lost]);
  if (waiting.size) await Promise.race([new Promise<void>((r) => (idle = r)), c.lost]);
  await c.close();
  return 0;
}
