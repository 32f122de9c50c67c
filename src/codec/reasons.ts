// The reason code of the DISCONNECT that answers a protocol violation on an MQTT 5 connection,
// from the violated rule: 0x81 (malformed packet) unless listed here.
import {
  type ProtocolError,
  RC_MALFORMED,
  RC_PACKET_TOO_LARGE,
  RC_PROTOCOL_ERROR,
} from './packets.ts';

const REASONS: Record<string, number> = {
  'packet-too-large': RC_PACKET_TOO_LARGE,
  // Properties: misplaced, repeated or out of range (§2.2.2.2).
  'MQTT5-2.2.2.2': RC_PROTOCOL_ERROR,
  // Subscription options: QoS 3 or Retain Handling 3 (§3.8.3.1).
  'MQTT5-3.8.3.1': RC_PROTOCOL_ERROR,
  // An empty topic name without a topic alias.
  'MQTT-3.3.2-1': RC_PROTOCOL_ERROR,
  // A wildcard in a topic name, a topic deeper than 201 levels, a reserved packet type: as
  // Mosquitto (a filter deeper than that is a malformed packet there, as an empty one).
  'MQTT-3.3.2-2': RC_PROTOCOL_ERROR,
  'topic-levels': RC_PROTOCOL_ERROR,
  'MQTT-2.2.1': RC_PROTOCOL_ERROR,
  'MQTT-3.1.0-2': RC_PROTOCOL_ERROR,
  'MQTT-2.3.1-1': RC_PROTOCOL_ERROR,
  'MQTT-3.8.3-3': RC_PROTOCOL_ERROR,
  'MQTT-3.10.3-2': RC_PROTOCOL_ERROR,
  // DISCONNECT with a session expiry after CONNECT's 0.
  'MQTT5-3.14.2.2.2': RC_PROTOCOL_ERROR,
  'MQTT-3.3.4-6': RC_PROTOCOL_ERROR,
  // Topic aliases: above the maximum, or while Topic Alias Maximum is 0 (Topic Alias invalid), or
  // unknown (protocol error); 0 is malformed, as in Mosquitto (0x94 is for aliases too large).
  'MQTT-3.3.2-9': 0x94,
  'MQTT5-3.3.2.3.4': RC_PROTOCOL_ERROR,
  // More unacknowledged QoS 2 messages than our Receive Maximum.
  'MQTT-3.3.4-7': 0x93,
  'MQTT-3.8.3-4': RC_PROTOCOL_ERROR,
};

export const reasonFor = (e: ProtocolError): number => REASONS[e.rule] ?? RC_MALFORMED;
