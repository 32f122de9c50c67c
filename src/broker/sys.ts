// $SYS statistics, published retained every sys_interval seconds (Mosquitto's topic names).
import { makeMessage } from './message.ts';
import type { Broker } from './broker.ts';
import { VERSION } from '../version.ts';

export function startSys(broker: Broker, intervalSeconds: number): () => void {
  const publish = (topic: string, value: string | number): void => {
    broker.publish(makeMessage(`$SYS/broker/${topic}`, Buffer.from(String(value)), 0, true));
  };
  const update = (): void => {
    const s = broker.stats;
    publish('version', `midge version ${VERSION}`);
    publish('uptime', `${Math.floor((Date.now() - s.startedAt) / 1000)} seconds`);
    publish('clients/connected', s.clientsConnected);
    publish('clients/total', s.clientsTotal);
    publish('clients/disconnected', s.clientsTotal - s.clientsConnected);
    publish('messages/received', s.messagesReceived);
    publish('messages/sent', s.messagesSent);
    publish('messages/dropped', s.messagesDropped);
    publish('messages/paced', s.publishersPaced);
    publish('bytes/received', s.bytesReceived);
    publish('bytes/sent', s.bytesSent);
    publish('retained messages/count', broker.retained.size);
    publish('subscriptions/count', broker.tree.count);
  };
  update();
  const timer = setInterval(update, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
