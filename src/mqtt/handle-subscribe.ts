// SUBSCRIBE and UNSUBSCRIBE. SUBACK goes out before the retained messages of the new filters.
import { encode, encode5 } from '../codec/encoder.ts';
import {
  type QoS,
  RC_NOT_AUTHORIZED,
  RC_NO_SUBSCRIPTION_EXISTED,
  SUBACK_FAILURE,
  type SubscribePacket,
  type UnsubscribePacket,
} from '../codec/packets.ts';
import { idProps, optionsOf } from '../broker/sub-options.ts';
import type { Session } from '../broker/session.ts';
import { type Connection, writeDurable } from './connection.ts';
import { aclFilter, shareRefused } from '../broker/shared.ts';
import { log } from '../util/log.ts';
import { mountFilter } from './mount.ts';

export function handleSubscribe(conn: Connection, session: Session, p: SubscribePacket): void {
  const broker = conn.broker;
  const v5 = MQTT5 && conn.protocolLevel === 5;
  const granted: number[] = [];
  const l = conn.listener;
  const maxQos = (l?.maxQos ?? 2) as QoS;
  const mp = l?.mountPoint;
  // MQTT5: each filter's options number (sub-options.ts), or -1 when no retained are to be sent.
  const opts: number[] = [];
  const filters: string[] = [];
  for (const sub of p.subscriptions) {
    // max_qos: the granted QoS goes no higher (as Mosquitto); mount_point: the filter goes under it.
    const qos = sub.qos < maxQos ? sub.qos : maxQos;
    const topic = mp ? mountFilter(mp, sub.topic) : sub.topic;
    filters.push(topic);
    // MQTT5: the options number (sub-options.ts), whose protocol errors come first.
    const o = MQTT5 && v5 ? optionsOf(sub, p.properties!.subscriptionIdentifier as number | undefined) - sub.qos + qos : qos;
    if (MQTT5 && shareRefused(sub.topic, conn, granted)) continue;
    if (AUTH && session.access && !session.access.maySubscribe(MQTT5 ? aclFilter(topic) : topic)) {
      granted.push(v5 ? RC_NOT_AUTHORIZED : SUBACK_FAILURE);
      log.notice(`Client ${conn.clientId}: subscription to ${topic} denied by ACL.`);
      continue;
    }
    const existed = broker.subscribe(session, topic, qos, o);
    // Retain Handling: 1 sends retained messages only for a new subscription, 2 never
    // [MQTT-3.3.1-10, 3.3.1-11].
    if (MQTT5 && v5) opts[granted.length] = sub.retainHandling === 2 || (sub.retainHandling === 1 && existed) ? -1 : o;
    granted.push(qos);
    if (log.enabled('subscribe')) log.write('subscribe', `${conn.clientId} ${qos} ${topic}`);
  }
  writeDurable(conn, (MQTT5 && v5 ? encode5 : encode)({ type: 9, packetId: p.packetId, granted }));
  for (let i = 0; i < p.subscriptions.length; i++) {
    if (granted[i] > 2 || (MQTT5 && v5 && opts[i] < 0)) continue;
    broker.sendRetained(session, filters[i], granted[i] as QoS, MQTT5 && v5 ? idProps(opts[i]) : undefined);
  }
}

export function handleUnsubscribe(conn: Connection, session: Session, p: UnsubscribePacket): void {
  // MQTT 5: a reason code per filter, 0x11 where there was no such subscription.
  const reasonCodes: number[] | undefined = MQTT5 && conn.protocolLevel === 5 ? [] : undefined;
  const mp = conn.listener?.mountPoint;
  for (const t of p.topics) {
    const topic = mp ? mountFilter(mp, t) : t;
    if (MQTT5 && reasonCodes) reasonCodes.push(conn.broker.unsubscribe(session, topic) ? 0 : RC_NO_SUBSCRIPTION_EXISTED);
    else conn.broker.unsubscribe(session, topic);
    if (log.enabled('unsubscribe')) log.write('unsubscribe', `${conn.clientId} ${topic}`);
  }
  if (MQTT5 && reasonCodes) conn.write(encode5({ type: 11, packetId: p.packetId, reasonCodes }));
  else conn.write(encode({ type: 11, packetId: p.packetId }));
}
