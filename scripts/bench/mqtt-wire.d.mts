// Types for scripts/bench/mqtt-wire.mjs, for TypeScript callers (test/bench).
import type { Socket } from 'node:net';

/** Protocol level: 4 (MQTT 3.1.1) or 5. */
export type Version = 4 | 5;
export type OnPacket = (type: number, flags: number, buf: Buffer, bodyStart: number, bodyEnd: number) => void;

export declare function connectPacket(clientId: string, opts?: { clean?: boolean; keepalive?: number; version?: Version }): Buffer;
export declare function subscribePacket(packetId: number, filter: string, qos: number, version?: Version): Buffer;
export declare function publishPacket(topic: string, payload: Buffer, qos?: number, retain?: boolean, packetId?: number, version?: Version): { buf: Buffer; idOffset: number; payloadOffset: number };
export declare function ack(type: number, packetId: number): Buffer;
export declare const DISCONNECT: Buffer;
export declare function payloadStart(flags: number, buf: Buffer, bodyStart: number, version: Version): number;
export declare function hex(byte: number): string;
export declare function receiveMaximum(buf: Buffer, propertiesStart: number, bodyEnd: number): number;

export declare class Frames {
  constructor(onPacket: OnPacket);
  push(chunk: Buffer): void;
}

export interface LoadClient {
  socket: Socket;
  frames: Frames;
  /** The reason code of a DISCONNECT the broker sent (v5), if any. */
  reason?: number;
  /** The broker's Receive Maximum from a v5 CONNACK; 65 535 otherwise. */
  receiveMaximum: number;
}

export declare function openClient(
  port: number,
  id: string,
  opts?: { clean?: boolean; keepalive?: number; version?: Version; onPacket?: OnPacket; extra?: Buffer[]; acksWanted?: number },
): Promise<LoadClient>;
