// The reason code of the DISCONNECT that answers a protocol violation on an MQTT 5 connection,
// from the violated rule: 0x81 (malformed packet) unless listed here.
import {
  type ProtocolError,
  RC_MALFORMED,
  RC_PACKET_TOO_LARGE,
  RC_PROTOCOL_ERROR,
  RC_TOPIC_NAME_INVALID,
} from '../../codec/packets.ts';

const REASONS: Record<string, number> = {
  'packet-too-large': RC_PACKET_TOO_LARGE,
  // Properties: misplaced, repeated or out of range (§2.2.2.2).
  'MQTT5-2.2.2.2': RC_PROTOCOL_ERROR,
  // Subscription options: QoS 3 or Retain Handling 3 (§3.8.3.1).
  'MQTT5-3.8.3.1': RC_PROTOCOL_ERROR,
  // An empty topic name without a topic alias.
  'MQTT-3.3.2-1': RC_PROTOCOL_ERROR,
  'MQTT-3.3.2-2': RC_TOPIC_NAME_INVALID,
  'MQTT-4.7.3-1': RC_TOPIC_NAME_INVALID,
  'MQTT-3.1.0-2': RC_PROTOCOL_ERROR,
  'MQTT-2.3.1-1': RC_PROTOCOL_ERROR,
  'MQTT-3.8.3-3': RC_PROTOCOL_ERROR,
  'MQTT-3.10.3-2': RC_PROTOCOL_ERROR,
  // A topic alias while Topic Alias Maximum is 0.
  'MQTT-3.3.2-9': 0x94,
};

export const reasonFor = (e: ProtocolError): number => REASONS[e.rule] ?? RC_MALFORMED;
