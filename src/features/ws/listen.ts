// WebSocket listeners (`protocol websockets`): MQTT over WebSocket binary frames with the `mqtt`
// subprotocol, over HTTP or, with TLS options on the listener, HTTPS. ws's stream wrapper gives
// the same Duplex a TCP socket is, so Connection does not know the difference.
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Broker } from '../../broker/broker.ts';
import type { ListenerConfig, Reloader } from '../../config/types.ts';
import type { Connection } from '../../mqtt/connection.ts';
import { acceptor } from '../../mqtt/accept.ts';
import { listen } from '../../transport/tcp.ts';
import { log } from '../../util/log.ts';
import { CONNECT_TIMEOUT } from '../../util/timeouts.ts';
import { serverOptions } from '../tls/context.ts';
import { acceptTls, tlsReloader, watchHandshakes } from '../tls/listen.ts';
import { serveFile } from './http-dir.ts';

/** Subprotocols MQTT clients offer: `mqtt` (3.1.1), `mqttv3.1` (3.1). */
function pickProtocol(offered: Set<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt';
  if (offered.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}

/**
 * `headersSize`: websockets_headers_size, the largest request header block (bytes; larger gets
 * 431); 0 = Node's default (16 KiB).
 */
export async function listenWs(broker: Broker, l: ListenerConfig, maxPacketSize: number, conns: Set<Connection>, reloaders: Reloader[], headersSize = 0): Promise<http.Server> {
  const { WebSocketServer, createWebSocketStream } = await import('ws');
  const accept = acceptor(broker, l, maxPacketSize, conns);
  const limit = headersSize > 0 ? { maxHeaderSize: headersSize } : {};
  let server: http.Server;
  if (TLS && l.tls) {
    const s = https.createServer({ ...serverOptions(l.tls), ...limit });
    watchHandshakes(s);
    reloaders.push(tlsReloader(s, l.tls));
    server = s;
  } else {
    server = http.createServer(limit);
  }
  // A client that opens a socket and never finishes its upgrade request is dropped as a silent
  // MQTT client would be.
  server.headersTimeout = server.requestTimeout = CONNECT_TIMEOUT * 1000;
  const dir = l.httpDir;
  server.on('request', (req, res) => {
    if (dir) return void serveFile(dir, req, res);
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('This is an MQTT over WebSocket endpoint.\n');
  });
  const origins = l.origins;
  // One WebSocket message may carry several MQTT packets, but not more than the largest packet.
  // websockets_origin: an upgrade without one of the listed Origin headers gets 403.
  const wss = new WebSocketServer({
    server,
    maxPayload: maxPacketSize + 5,
    handleProtocols: pickProtocol,
    ...(origins && {
      verifyClient: ({ origin }: { origin?: string }, done: (ok: boolean, code?: number) => void) => done(origins.includes(origin as string), 403),
    }),
  });
  wss.on('error', (err) => log.error(`WebSocket listener error: ${err.message}`));
  wss.on('connection', (ws, req) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const stream = createWebSocketStream(ws);
    if (TLS && l.tls) acceptTls(accept, stream, req.socket as tls.TLSSocket, remote, l.tls);
    else accept(stream, remote);
  });
  return listen(server, l, ' (websockets)');
}
