// Reads one complete $SYS cycle (src/broker/sys.ts publishes subscriptions/count last).
import mqtt, { type MqttClient } from 'mqtt';

export interface SysReader {
  c: MqttClient;
  /** The values of the next cycle that starts after the call. */
  next(): Promise<Map<string, string>>;
}

export async function sysReader(port: number): Promise<SysReader> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, clientId: 'sys-reader' });
  let cur = new Map<string, string>();
  let waiting: ((m: Map<string, string>) => void)[] = [];
  let armed = false;
  c.on('message', (t, p, packet) => {
    if (packet.retain) return; // the retained copies sent at subscribe time
    if (t === '$SYS/broker/version') {
      cur = new Map();
      armed = waiting.length > 0;
    }
    cur.set(t.slice('$SYS/broker/'.length), p.toString());
    if (t === '$SYS/broker/subscriptions/count' && armed) {
      const w = waiting;
      waiting = [];
      armed = false;
      for (const r of w) r(cur);
    }
  });
  await c.subscribeAsync('$SYS/broker/#');
  return {
    c,
    next: () =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no $SYS cycle in 5 s')), 5000);
        waiting.push((m) => (clearTimeout(t), resolve(m)));
      }),
  };
}
