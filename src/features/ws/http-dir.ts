// http_dir: a WebSocket listener's plain HTTP requests get the files of one directory (GET and
// HEAD; a directory gives its index.html). Nothing outside the directory is served: `..` and
// encoded separators that lead out, and symbolic links that point out, get 403.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type http from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', json: 'application/json',
  txt: 'text/plain; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg',
  gif: 'image/gif', ico: 'image/x-icon', webp: 'image/webp', wasm: 'application/wasm', map: 'application/json',
  xml: 'application/xml', woff: 'font/woff', woff2: 'font/woff2', pdf: 'application/pdf',
};

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root + sep);

/** Answers one request from `dir`. */
export async function serveFile(dir: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const send = (code: number, text: string, headers: http.OutgoingHttpHeaders = {}): void => {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method Not Allowed', { allow: 'GET, HEAD' });
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://h').pathname);
  } catch {
    return send(400, 'Bad Request');
  }
  try {
    const root = await realpath(dir);
    let file = resolve(root, `.${path}`);
    if (path.includes('\0') || !inside(root, file)) return send(403, 'Forbidden');
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    // A symbolic link inside may point outside.
    const real = await realpath(file);
    const st = await stat(real);
    if (!inside(root, real)) return send(403, 'Forbidden');
    if (!st.isFile()) return send(404, 'Not Found');
    res.writeHead(200, { 'content-type': TYPES[extname(real).slice(1).toLowerCase()] ?? 'application/octet-stream', 'content-length': st.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(real).on('error', () => res.destroy()).pipe(res);
  } catch {
    send(404, 'Not Found');
  }
}
