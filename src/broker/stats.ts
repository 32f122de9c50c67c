/** Broker-wide counters, read by $SYS. Plain numbers: incrementing them costs nothing. */
export class Stats {
  readonly startedAt = Date.now();
  clientsConnected = 0;
  /** Sessions known (connected plus disconnected persistent ones). */
  clientsTotal = 0;
  messagesReceived = 0;
  messagesSent = 0;
  messagesDropped = 0;
  /** Times a QoS 1/2 publisher was paced because a subscriber's queue was full (flow.ts). */
  publishersPaced = 0;
  bytesReceived = 0;
  bytesSent = 0;
}
