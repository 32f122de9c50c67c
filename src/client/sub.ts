// `midge sub`: subscribes to every -t filter in one SUBSCRIBE and prints what arrives, until -C
// messages, -W seconds or a signal: mosquitto_sub's behaviour, output and -d lines. QoS 2
// messages are printed once released (PUBREL), as libmosquitto delivers them.
import type { PublishPacket } from '../codec/packets.ts';
import type { ClientArgs } from './args.ts';
import { Connection, Exit } from './connection.ts';
import { formatMessage } from './format.ts';

const NL = Buffer.from('\n');

/** Subscribes as `a` says; resolves with the exit code. Connection failures throw an Exit. */
export async function runSub(a: ClientArgs): Promise<number> {
  const c = new Connection(a);
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let over = false;
  let count = 0;
  // QoS 2 messages received and not yet released, by packet id.
  const held = new Map<number, PublishPacket>();
  const stop = (): void => finish(0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const show = (p: PublishPacket): void => {
    if (over || (a.fresh && p.retain)) return;
    const parts = formatMessage(p, a.verbose, a.format, a.eol);
    if (parts.length || a.format !== undefined) {
      if (a.eol) parts.push(NL);
      process.stdout.write(Buffer.concat(parts));
    }
    if (a.count && ++count >= a.count) {
      over = true;
      finish(0);
    }
  };

  c.onPacket = (p) => {
    if (p.type === 3) {
      const id = p.packetId;
      c.debug(`received ${Connection.describe(p, id)}`);
      if (p.qos === 1) {
        c.send({ type: 4, packetId: id }, `PUBACK (m${id}, rc0)`);
        show(p);
      } else if (p.qos === 2) {
        held.set(id, p);
        c.send({ type: 5, packetId: id }, `PUBREC (m${id}, rc0)`);
      } else show(p);
    } else if (p.type === 6) {
      c.debug(`received PUBREL (Mid: ${p.packetId})`);
      c.send({ type: 7, packetId: p.packetId }, `PUBCOMP (m${p.packetId})`);
      const m = held.get(p.packetId);
      held.delete(p.packetId);
      if (m) show(m);
    } else if (p.type === 9) {
      c.debug('received SUBACK');
      if (a.debug) process.stdout.write(`Subscribed (mid: ${p.packetId}): ${p.granted.join(', ')}\n`);
      if (p.granted.every((g) => g >= 0x80)) c.fail(new Exit(1, 'All subscription requests were denied.\n'));
      else if (a.once) finish(0);
    }
  };

  try {
    // A signal while connecting ends the command too.
    if ((await Promise.race([c.ready.then(() => -1), c.lost, done])) >= 0) {
      c.sock.destroy();
      return 0;
    }
    if (a.timeout) {
      setTimeout(() => {
        process.stderr.write('Timed out\n');
        finish(27);
      }, a.timeout * 1000).unref();
    }
    for (const t of a.topics) c.debug(`sending SUBSCRIBE (Mid: 1, Topic: ${t}, QoS: ${a.qos}, Options: 0x00)`);
    c.send({
      type: 8,
      packetId: 1,
      subscriptions: a.topics.map((topic) => ({ topic, qos: a.qos })),
      properties: MQTT5 && a.level === 5 ? a.props.SUBSCRIBE : undefined,
    });
    const code = await Promise.race([done, c.lost]);
    over = true;
    await c.close();
    return code;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
