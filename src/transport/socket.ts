// Output to a socket, shared by MQTT connections (src/mqtt/connection.ts) and bridge links:
// corked writes, and ending a socket that may linger.
import type { Duplex } from 'node:stream';
import { SOCKET_LINGER } from '../util/timeouts.ts';

/** What writes to a socket through writeCorked(). */
export interface Corker {
  /** The socket is corked: set by the first write of a turn, cleared by the uncork. */
  uncorkPending: boolean;
  /** The socket written to; a bridge's changes with each connection, and is undefined while down. */
  readonly socket: Duplex | undefined;
}

function uncork(w: Corker): void {
  w.uncorkPending = false;
  w.socket?.uncork();
}

/**
 * Writes `buf` to `w.socket` and counts it in `counts.bytesSent`. The first write of an
 * event-loop turn corks the socket and process.nextTick uncorks it, so everything written to it
 * in one turn leaves in one writev: a chunk of inbound packets (or a fan-out) costs one syscall
 * per socket, not one per packet. Nothing is allocated per write.
 */
export function writeCorked(w: Corker, buf: Buffer, counts: { bytesSent: number }): void {
  const socket = w.socket as Duplex;
  counts.bytesSent += buf.length;
  if (!w.uncorkPending) {
    w.uncorkPending = true;
    socket.cork();
    process.nextTick(uncork, w);
  }
  socket.write(buf);
}

/** Ends `socket`, which flushes what was written (a CONNACK with an error code); destroys it if it lingers. */
export function endSocket(socket: Duplex): void {
  socket.end();
  setTimeout(() => socket.destroy(), SOCKET_LINGER).unref();
}
