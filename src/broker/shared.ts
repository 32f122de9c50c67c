// Shared subscriptions, $share/GROUP/FILTER (MQTT 5 §4.8.2). Each group is one subscriber in the
// topic tree, on FILTER: the publish path hands it a message like any session, and it passes the
// message on to ONE member, round-robin. Ordinary subscriptions never see this code.
//
// Choice of member: the next in turn that may read the topic and is connected, preferring one
// that can send at once (socket writable, nothing queued, window open). With no member
// connected, a QoS 1/2 message is queued on the next member's session (a persistent one keeps
// it; QoS 0 is dropped), as Mosquitto does.
//
// A member that stalls (flow.ts) hands back what it has queued but not sent, as one that leaves
// does. A member that leaves hands back what it had not finished, and the group gives it to another:
// QoS 1 messages in flight once its connection is gone (a connected member that unsubscribes
// completes those itself [MQTT-3.10.4-3]), and messages still queued (never sent) if its session
// has no journal entry for them (clean or ended sessions: the persistence journal cannot take a
// message out of the middle of a queue). QoS 2 messages already sent stay with it [MQTT-4.8.2-4]
// and are never sent to another member [MQTT-4.8.2-5].
import type { Broker } from './broker.ts';
import type { Message } from './message.ts';
import type { Outbound, Session } from './session.ts';
import { RC_TOPIC_FILTER_INVALID, SUBACK_FAILURE, type QoS } from '../codec/packets.ts';
import { log } from '../util/log.ts';

/** The '/' that ends GROUP in a valid share filter; -1 for an invalid one, 0 for no share. */
function groupEnd(f: string): number {
  if (!f.startsWith('$share/')) return 0;
  const i = f.indexOf('/', 7);
  // [MQTT-4.8.2-1] a GROUP of at least one character; [MQTT-4.8.2-2] no '+' or '#' in it, and a
  // '/' and a filter after it ('/' cannot be in it: the first one ends it).
  return i < 8 || i === f.length - 1 || /[+#]/.test(f.slice(7, i)) ? -1 : i;
}

/** A valid share filter. Invalid ones are refused at SUBSCRIBE; elsewhere they are plain filters. */
export const isShare = (f: string): boolean => groupEnd(f) > 0;

/** The filter ACLs judge: FILTER of a share (as Mosquitto), the filter itself otherwise. */
export function aclFilter(f: string): string {
  const i = groupEnd(f);
  return i > 0 ? f.slice(i + 1) : f;
}

/** Refuses an invalid share filter: SUBACK 0x8F in MQTT 5, 0x80 before. `conn`: the subscriber's connection. */
export function shareRefused(f: string, conn: { readonly name: string; readonly protocolLevel: number }, granted: number[]): boolean {
  if (groupEnd(f) >= 0) return false;
  log.notice(`Client ${conn.name}: invalid shared subscription ${f}.`);
  granted.push(conn.protocolLevel === 5 ? RC_TOPIC_FILTER_INVALID : SUBACK_FAILURE);
  return true;
}

/** Which group gave a session each message it holds (for handing them back). */
const via = new WeakMap<Outbound, Share>();

export class Share {
  matchGen = 0;
  matchQos: QoS = 2;
  // What the publish path reads of a subscriber: a group has no connection or ACL of its own.
  readonly outlet = null;
  readonly access = undefined;
  /** Never set: group members' subscription options are not applied (docs/mqtt5.md). */
  readonly m5 = undefined;
  /** Members in turn order, and the QoS each was granted. */
  readonly members: Session[] = [];
  readonly qos: QoS[] = [];
  private next = 0;

  constructor(readonly filter: string) {}

  deliver(msg: Message, qos: QoS): void {
    const n = this.members.length;
    let ready = -1;
    let online = -1;
    let spare = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      const s = this.members[i];
      if (AUTH && s.access && !s.access.mayRead(msg.topic)) continue;
      const o = s.outlet;
      // A stalled member counts as offline (flow.ts): its share goes to the others.
      if (!o || s.isStalled) {
        if (spare < 0) spare = i;
      } else if (!(BRIDGE && o === msg.origin)) {
        if (o.writable && !s.queued && s.windowOpen()) {
          ready = i;
          break;
        }
        if (online < 0) online = i;
      }
    }
    const i = ready >= 0 ? ready : online >= 0 ? online : spare;
    if (i < 0) return;
    this.next = i + 1;
    // Each member gets the QoS it was granted [MQTT-4.8.2-3].
    const ob = this.members[i].deliver(msg, qos < this.qos[i] ? qos : this.qos[i], false);
    if (ob) via.set(ob, this);
  }
}

// tree.count ($SYS subscriptions/count) counts members, not groups.

/** Adds `s` to the group of share filter `f` (creating it), or updates its QoS. */
export function join(b: Broker, s: Session, f: string, qos: QoS): void {
  let g = b.shares.get(f);
  if (!g) {
    b.shares.set(f, (g = new Share(aclFilter(f))));
    b.tree.add(g.filter, g, 2);
    b.tree.count--;
  }
  const i = g.members.indexOf(s);
  if (i < 0) {
    g.members.push(s);
    g.qos.push(qos);
    b.tree.count++;
  } else g.qos[i] = qos;
}

/** Takes `s` out of the group of `f` (the group goes with its last member) and hands back. */
export function leave(b: Broker, s: Session, f: string): void {
  const g = b.shares.get(f);
  const i = g ? g.members.indexOf(s) : -1;
  if (!g || i < 0) return;
  g.members.splice(i, 1);
  g.qos.splice(i, 1);
  b.tree.count--;
  if (!g.members.length) {
    b.shares.delete(f);
    b.tree.remove(g.filter, g);
    b.tree.count++;
  }
  handBack(s, g);
}

/**
 * Gives what `s` holds from group `g` (from any group when undefined) to other members: QoS 1
 * messages in flight once `s` is offline, queued ones when no journal holds them.
 */
export function handBack(s: Session, g?: Share): void {
  // A message `s` got from the group(s) in question.
  const back = s.takeBack((ob) => {
    const from = via.get(ob);
    return from !== undefined && (g === undefined || from === g);
  });
  for (const ob of back) (via.get(ob) as Share).deliver(ob.msg, ob.msg.qos);
}
