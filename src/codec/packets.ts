// MQTT control packets as plain objects. The decoder produces them and the encoder consumes them.
// Numeric packet types follow the wire (MQTT 3.1.1 §2.2.1, MQTT 5 §2.1.2) so a switch on `type` is a jump table.

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
/** MQTT 5 only (§3.15). Not `AUTH`: that name is the AUTH feature flag. */
export const AUTH_PACKET = 15;

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
export const CONNACK_ACCEPTED = 0;
export const CONNACK_BAD_PROTOCOL = 1;
export const CONNACK_ID_REJECTED = 2;
export const CONNACK_UNAVAILABLE = 3;
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/** SUBACK failure return code. */
export const SUBACK_FAILURE = 0x80;

/** MQTT 5 reason codes (§2.4) that Midge sends or checks. */
export const RC_SUCCESS = 0x00;
export const RC_DISCONNECT_WITH_WILL = 0x04;
export const RC_NO_SUBSCRIPTION_EXISTED = 0x11;
export const RC_UNSPECIFIED = 0x80;
export const RC_MALFORMED = 0x81;
export const RC_PROTOCOL_ERROR = 0x82;
export const RC_UNSUPPORTED_VERSION = 0x84;
export const RC_CLIENT_ID_INVALID = 0x85;
export const RC_BAD_CREDENTIALS = 0x86;
export const RC_NOT_AUTHORIZED = 0x87;
export const RC_SERVER_UNAVAILABLE = 0x88;
export const RC_TOPIC_FILTER_INVALID = 0x8f;
export const RC_TOPIC_NAME_INVALID = 0x90;
export const RC_PACKET_TOO_LARGE = 0x95;
export const RC_QUOTA_EXCEEDED = 0x97;

/**
 * MQTT 5 properties (§2.2.2), named as mqtt-packet names them. Byte-valued flags are numbers
 * (0/1) as on the wire. userProperties keeps wire order and duplicates.
 */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** Several only in PUBLISH (server to client); one in SUBSCRIBE. */
  subscriptionIdentifier?: number | number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifiersAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 will properties. */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 1;
  /** 'MQTT' (level 4 or 5) or 'MQIsdp' (level 3, MQTT 3.1). */
  protocolName: string;
  protocolLevel: number;
  clean: boolean;
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** The 3.1.1 return code or the MQTT 5 reason code. */
  returnCode: number;
  properties?: Properties;
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
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (3.1.1): a packet id and nothing else. */
export interface AckPacket {
  type: 4 | 5 | 6 | 7 | 11;
  packetId: number;
  /** MQTT 5, PUBACK..PUBCOMP: reason code (absent = 0). */
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topic: string;
  qos: QoS;
  /** MQTT 5 subscription options (§3.8.3.1). */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** Per filter, in order: 0, 1, 2 or 0x80 (3.1.1), or an MQTT 5 reason code. */
  granted: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topics: string[];
  properties?: Properties;
}

/** MQTT 5 UNSUBACK: a reason code per filter. (A 3.1.1 UNSUBACK is an AckPacket.) */
export interface UnsubackPacket {
  type: 11;
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}

export interface EmptyPacket {
  type: 12 | 13 | 14;
}

/** MQTT 5 DISCONNECT with a reason code (absent = 0) and properties. */
export interface DisconnectPacket {
  type: 14;
  reasonCode?: number;
  properties?: Properties;
}

/** MQTT 5 AUTH (§3.15). */
export interface AuthPacket {
  type: 15;
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | EmptyPacket
  | DisconnectPacket
  | AuthPacket;

/**
 * A violation of the protocol found while decoding. `rule` names the normative statement
 * (e.g. 'MQTT-3.3.1-4'); `connackCode` is set when the spec wants a CONNACK with that code sent
 * before the connection is closed (e.g. 1 for an unsupported protocol level). On an MQTT 5
 * connection the rule also decides the DISCONNECT reason code (src/codec/reasons.ts),
 * which keeps this class as small as it is without MQTT5.
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

/** Bytes of Variable Byte Integer `n` (a remaining length, MQTT 5 property lengths and values). */
export const vbiSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);

/** Writes Variable Byte Integer `n` at `off`; returns the offset after it. */
export function putVbi(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[off++] = n;
  return off;
}
