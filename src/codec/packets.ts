// MQTT control packets as plain objects. The decoder produces them and the encoder consumes them.
// Numeric packet types follow the wire (MQTT 3.1.1 §2.2.1) so a switch on `type` is a jump table.

export type QoS = 0 | 1 | 2;

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
export const CONNACK_ACCEPTED = 0;
export const CONNACK_BAD_PROTOCOL = 1;
export const CONNACK_ID_REJECTED = 2;
export const CONNACK_UNAVAILABLE = 3;
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/** SUBACK failure return code. */
export const SUBACK_FAILURE = 0x80;

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

export interface ConnectPacket {
  type: 1;
  /** 'MQTT' (level 4) or 'MQIsdp' (level 3, MQTT 3.1). */
  protocolName: string;
  protocolLevel: number;
  clean: boolean;
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  returnCode: number;
}

export interface PublishPacket {
  type: 3;
  dup: boolean;
  qos: QoS;
  retain: boolean;
  topic: string;
  /** 0 for QoS 0. */
  packetId: number;
  /** A slice of the received bytes where possible, never copied per subscriber. */
  payload: Buffer;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: a packet id and nothing else. */
export interface AckPacket {
  type: 4 | 5 | 6 | 7 | 11;
  packetId: number;
}

export interface Subscription {
  topic: string;
  qos: QoS;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** 0, 1, 2 or 0x80 per filter, in order. */
  granted: number[];
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topics: string[];
}

export interface EmptyPacket {
  type: 12 | 13 | 14;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | EmptyPacket;

/**
 * A violation of the protocol found while decoding. `rule` names the normative statement
 * (e.g. 'MQTT-3.3.1-4'); `connackCode` is set when the spec wants a CONNACK with that code sent
 * before the connection is closed (e.g. 1 for an unsupported protocol level).
 */
export class ProtocolError extends Error {
  constructor(
    readonly rule: string,
    message: string,
    readonly connackCode?: number,
  ) {
    super(`[${rule}] ${message}`);
  }
}
