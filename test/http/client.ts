// A small HTTP(S) client for the HTTP feature's tests: any method, header and body (fetch would
// refuse some headers a browser sets, such as Origin), and the answer as text or JSON.
import http from 'node:http';
import https from 'node:https';
import parse from 'parse-prometheus-text-format';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Ask {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** user:password for HTTP Basic. */
  auth?: string;
  /** HTTPS with this CA (PEM). */
  ca?: Buffer;
}

export function ask(port: number, path: string, o: Ask = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth) headers.authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  const opts = { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers, ca: o.ca, agent: false as const };
  return new Promise((resolve, reject) => {
    const req = (o.ca ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${path} in 10 s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** A same-origin JSON POST, as the status page makes it. */
export function post(port: number, path: string, body: unknown, o: Ask = {}): Promise<Answer> {
  return ask(port, path, { ...o, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...o.headers } });
}

/** /metrics parsed by a real Prometheus text parser: name → [labels, value] samples. */
export function parseMetrics(text: string): Map<string, { labels: Record<string, string>; value: number; type: string }[]> {
  const out = new Map<string, { labels: Record<string, string>; value: number; type: string }[]>();
  for (const f of parse(text)) out.set(f.name, f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value), type: f.type })));
  return out;
}

/** The single value of an unlabelled metric. */
export function one(m: ReturnType<typeof parseMetrics>, name: string): number {
  const s = m.get(name);
  if (!s || s.length !== 1) throw new Error(`metric ${name}: ${JSON.stringify(s)}`);
  return s[0].value;
}
