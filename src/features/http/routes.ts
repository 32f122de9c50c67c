// The endpoints (docs/http.md): reads are GET (or HEAD); the two writes are POST with a JSON body,
// from the same origin only. Every answer is complete here: a request never waits on MQTT, and
// MQTT never waits on a request (each handler runs to its end in one turn).
import type http from 'node:http';
import { makeMessage } from '../../broker/message.ts';
import { Connection } from '../../mqtt/connection.ts';
import { SnClient } from '../sn/client.ts';
import { authenticate, type Caller } from './auth.ts';
import { DISCONNECT_TOPIC, MAX_BODY_BYTES, MAX_PAGE, PAGE } from './config.ts';
import { metrics } from './metrics.ts';
import { PAGE_HTML } from './page.ts';
import { brokerStatus, bridges, clients, links, retained, subscriptions, type View } from './status.ts';
import type { ListenerConfig } from '../../config/types.ts';

type Res = http.ServerResponse;

function send(res: Res, status: number, body: string, type: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const json = (res: Res, status: number, v: unknown, headers?: http.OutgoingHttpHeaders): void => send(res, status, JSON.stringify(v), 'application/json', headers);
export const fail = (res: Res, status: number, error: string, headers?: http.OutgoingHttpHeaders): void => json(res, status, { error }, headers);

/** ?offset=&limit= of a list; undefined when malformed (400). */
function paging(q: URLSearchParams): { offset: number; limit: number } | undefined {
  const n = (s: string | null, d: number): number => (s === null ? d : /^\d{1,9}$/.test(s) ? Number(s) : NaN);
  const offset = n(q.get('offset'), 0);
  const limit = n(q.get('limit'), PAGE);
  return offset >= 0 && limit >= 1 && limit <= MAX_PAGE ? { offset, limit } : undefined;
}

/** The list endpoints: path → [key in the answer, the whole list]. */
const LISTS: Record<string, [string, (v: View) => unknown[]]> = {
  '/api/v1/clients': ['clients', clients],
  '/api/v1/subscriptions': ['subscriptions', subscriptions],
  '/api/v1/retained': ['topics', retained],
};

export async function route(v: View, l: ListenerConfig, req: http.IncomingMessage, res: Res): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '', 'http://h');
  } catch {
    return fail(res, 400, 'bad request target');
  }
  const path = url.pathname;
  const who = authenticate(v.broker, l, req);
  if (!who.ok) return fail(res, who.status, who.why, who.status === 401 ? { 'www-authenticate': 'Basic realm="midge", charset="UTF-8"' } : {});
  const write = /^\/api\/v1\/(clients\/[^/]+\/disconnect|gpio\/[^/]+)$/.test(path);
  const method = req.method ?? '';
  if (write ? method !== 'POST' : method !== 'GET' && method !== 'HEAD') {
    return fail(res, 405, `method ${method} not allowed here`, { allow: write ? 'POST' : 'GET, HEAD' });
  }
  if (write) return writeRoute(v, who, path, req, res);
  if (path === '/') {
    return send(res, 200, PAGE_HTML, 'text/html; charset=utf-8', {
      'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
  }
  if (path === '/metrics') return send(res, 200, metrics(v), 'text/plain; version=0.0.4; charset=utf-8');
  if (path === '/api/v1/broker') return json(res, 200, brokerStatus(v));
  if (path === '/api/v1/bridges') return json(res, 200, { bridges: bridges(v) });
  if (path === '/api/v1/links') return json(res, 200, links(v));
  const list = LISTS[path];
  if (list) {
    const p = paging(url.searchParams);
    if (!p) return fail(res, 400, `offset must be 0 or more and limit 1 to ${MAX_PAGE}`);
    const all = list[1](v);
    return json(res, 200, { total: all.length, offset: p.offset, limit: p.limit, [list[0]]: all.slice(p.offset, p.offset + p.limit) });
  }
  return fail(res, 404, `no such endpoint: ${path.slice(0, 100)}`);
}

/** Reads a small body; a status code instead when it is too big or broken off. */
function body(req: http.IncomingMessage): Promise<string | number> {
  return new Promise((resolve) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return resolve(413);
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY_BYTES) {
        resolve(413);
        req.pause();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(400));
  });
}

async function writeRoute(v: View, who: Caller & { ok: true }, path: string, req: http.IncomingMessage, res: Res): Promise<void> {
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return fail(res, 415, 'writes need Content-Type: application/json');
  // No cross-site writes: a browser says where a request comes from; other clients send neither.
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const self = `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${req.headers.host}`;
  if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && origin !== self)) {
    return fail(res, 403, 'cross-origin write refused');
  }
  const text = await body(req);
  if (typeof text === 'number') return fail(res, text, text === 413 ? `body over ${MAX_BODY_BYTES} bytes` : 'body broken off', { connection: 'close' });
  let data: unknown;
  try {
    data = JSON.parse(text || '{}');
  } catch {
    return fail(res, 400, 'body is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(res, 400, 'body must be a JSON object');
  const [, , , what, raw] = path.split('/');
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return fail(res, 400, 'bad percent-encoding in the path');
  }
  const { broker } = v;
  if (what === 'clients') {
    if (who.access && !who.access.mayWrite(DISCONNECT_TOPIC + name)) return fail(res, 403, `no write access to ${DISCONNECT_TOPIC}${name}`);
    const o = broker.sessions.get(name)?.outlet;
    if (!o) return fail(res, 404, `client ${name} is not connected`);
    if (!(o instanceof Connection || (SN && o instanceof SnClient))) return fail(res, 409, `client ${name} is the broker's own (bridge, serial link or GPIO)`);
    o.close('disconnected through the HTTP API', 0x98); // MQTT 5: Administrative action
    return json(res, 200, { disconnected: name });
  }
  const pin = GPIO ? v.pins().find((p) => p.cfg.name === name || String(p.cfg.number) === name) : undefined;
  if (!pin) return fail(res, 404, `no GPIO pin ${name}`);
  if (pin.cfg.direction !== 'out') return fail(res, 409, `GPIO pin ${name} is an input`);
  const topic = pin.cfg.setTopic as string;
  if (who.access && !who.access.mayWrite(topic)) return fail(res, 403, `no write access to ${topic}`);
  const value = (data as { value?: unknown }).value;
  const word = value === true || value === 1 || value === '1' ? '1' : value === false || value === 0 || value === '0' ? '0' : value === 'toggle' ? 'toggle' : undefined;
  if (!word) return fail(res, 400, 'value must be 0, 1, true, false or "toggle"');
  // As a client would: a message on the set topic, which the pin's outlet applies and reports.
  broker.publish(makeMessage(topic, Buffer.from(word), 0, false));
  return json(res, 200, { pin: pin.cfg.name, level: pin.state });
}
