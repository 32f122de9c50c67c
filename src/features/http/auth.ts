// Who is asking: HTTP Basic credentials checked by the broker's own rules (allow_anonymous,
// password_file, per_listener_settings), then the ACL decides what they may see and change.
import type http from 'node:http';
import type { Access } from '../../broker/access.ts';
import type { Broker } from '../../broker/broker.ts';
import type { ListenerConfig } from '../../config/types.ts';
import { READ_TOPIC } from './config.ts';

/** The client id the ACL sees for HTTP requests (patterns with %c). */
const HTTP_CLIENT_ID = 'midge-http';

/** What a request may do: undefined access = everything (no ACL). */
export type Caller = { ok: true; access: Access | undefined } | { ok: false; status: 401 | 403; why: string };

/** Decodes `Authorization: Basic ...`; undefined = none given; null = malformed. */
function basic(h: string | undefined): { user: string; pass: Buffer } | undefined | null {
  if (h === undefined) return undefined;
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(h);
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), pass: Buffer.from(text.slice(i + 1)) };
}

export function authenticate(broker: Broker, l: ListenerConfig, req: http.IncomingMessage): Caller {
  const cred = basic(req.headers.authorization);
  if (cred === null) return { ok: false, status: 401, why: 'malformed Authorization header (expected Basic)' };
  let access: Access | undefined;
  if (AUTH && broker.gate) {
    const a = broker.gate.admit({ clientId: HTTP_CLIENT_ID, username: cred?.user, password: cred?.pass, listener: l });
    if (!a.ok) return { ok: false, status: 401, why: cred ? 'bad username or password' : 'authentication required' };
    access = a.access;
  } else if (!broker.options.allowAnonymous && !cred) {
    return { ok: false, status: 401, why: 'authentication required' };
  }
  if (access && !access.mayRead(READ_TOPIC)) return { ok: false, status: 403, why: 'no read access to $SYS/#' };
  return { ok: true, access };
}
