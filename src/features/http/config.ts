// HTTP listeners (feature HTTP; docs/http.md): `listener PORT [ADDR]` + `protocol http`. There are
// no HTTP-only options: the limits below are fixed, small enough for a Pi Zero and documented.
import type { ListenerConfig } from '../../config/types.ts';

/** Largest request head (request line and headers), bytes: past it, 431. */
export const MAX_HEADER_BYTES = 8192;
/** Most header lines read per request. */
export const MAX_HEADERS = 50;
/** Largest request body (the writes take a small JSON object), bytes: past it, 413. */
export const MAX_BODY_BYTES = 1024;
/** The whole head must arrive within this (slowloris), ms: past it, 408. */
export const HEAD_TIMEOUT_MS = 10_000;
/** The whole request, body included, ms. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** An idle keep-alive connection is closed after this, ms. */
export const KEEP_ALIVE_MS = 5_000;
/** Open connections per HTTP listener when max_connections is not set. */
export const DEFAULT_MAX_CONNECTIONS = 32;
/** Page size of the lists (clients, subscriptions, retained) without ?limit=, and the largest. */
export const PAGE = 100;
export const MAX_PAGE = 1000;

/** The topic a user must be able to read to see anything (a `topic read $SYS/#` rule grants it). */
export const READ_TOPIC = '$SYS/broker/http';
/** Disconnecting client ID needs write access to this topic + ID (e.g. `topic write $SYS/broker/admin/#`). */
export const DISCONNECT_TOPIC = '$SYS/broker/admin/disconnect/';

/** max_connections of the listener, or the HTTP default. */
export function httpMaxConnections(l: ListenerConfig): number {
  return l.maxConnections >= 0 ? l.maxConnections : DEFAULT_MAX_CONNECTIONS;
}
