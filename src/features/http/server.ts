// HTTP listeners (`protocol http`, feature HTTP): node:http (or node:https with certfile/keyfile
// on the listener, with TLS built) serving the status page, the JSON API and /metrics
// (routes.ts). Requests are bounded in size and time, so a slow or hostile peer costs a socket
// and a few kilobytes, and the broker's turn is never held by one.
import http from 'node:http';
import https from 'node:https';
import type { Broker } from '../../broker/broker.ts';
import type { BrokerConfig, ListenerConfig, Reloader } from '../../config/types.ts';
import { listen } from '../../transport/tcp.ts';
import { log } from '../../util/log.ts';
import type { GpioRunning } from '../gpio/index.ts';
import type { SerialRunning } from '../serial/port.ts';
import type { SnListener } from '../sn/udp.ts';
import { serverOptions } from '../tls/context.ts';
import { tlsReloader, watchHandshakes } from '../tls/listen.ts';
import { HEAD_TIMEOUT_MS, httpMaxConnections, KEEP_ALIVE_MS, MAX_HEADER_BYTES, MAX_HEADERS, REQUEST_TIMEOUT_MS } from './config.ts';
import { fail, route } from './routes.ts';
import type { View } from './status.ts';

export interface HttpListener {
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Starts one HTTP listener. `addresses`: the bound addresses in listener order, filled by
 * server.ts as listeners start; `others`: what it starts besides TCP listeners, where GPIO's entry
 * (which starts after the listeners) has the pins.
 */
export async function listenHttp(
  broker: Broker,
  cfg: BrokerConfig,
  l: ListenerConfig,
  addresses: View['addresses'],
  others: object[],
  reloaders: Reloader[],
): Promise<HttpListener> {
  // Event-loop lag: how late a 500 ms timer fires.
  let lag = 0;
  let due = Date.now() + 500;
  const lagTimer = setInterval(() => {
    const now = Date.now();
    lag = Math.max(0, now - due) / 1000;
    due = now + 500;
  }, 500);
  lagTimer.unref();
  const view: View = {
    broker,
    cfg,
    addresses,
    pins: () => (others.find((o) => (o as GpioRunning).pins) as GpioRunning | undefined)?.pins ?? [],
    ports: () => (others.find((o) => (o as SerialRunning).keepers) as SerialRunning | undefined)?.keepers ?? [],
    lag: () => lag,
    gateways: () => (SN ? others.flatMap((o) => ((o as SnListener).gateway ? [(o as SnListener).gateway] : [])) : []),
  };
  const opts: http.ServerOptions = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  let server: http.Server;
  if (TLS && l.tls) {
    const s = https.createServer({ ...serverOptions(l.tls), ...opts });
    watchHandshakes(s);
    reloaders.push(tlsReloader(s, l.tls));
    server = s;
  } else server = http.createServer(opts);
  server.headersTimeout = HEAD_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.maxHeadersCount = MAX_HEADERS;
  server.maxConnections = httpMaxConnections(l);
  server.on('request', (req, res) => {
    route(view, l, req, res).catch((err: Error) => {
      log.error(`HTTP ${req.method} ${req.url?.slice(0, 100)}: ${err.message}`);
      if (!res.headersSent) fail(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // Malformed requests, oversized heads and timeouts get Node's 400/431/408 and a closed socket.
  await listen(server, l, TLS && l.tls ? ' (https)' : ' (http)');
  const a = server.address() as { address: string; port: number };
  return {
    address: { host: a.address, port: a.port },
    close() {
      clearInterval(lagTimer);
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
