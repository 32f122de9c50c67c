// The MQTT client connection of `midge pub` and `midge sub`: TCP or TLS, CONNECT/CONNACK,
// keep-alive, and packets in and out through Midge's own codec. Failures end the command with
// mosquitto_pub/sub's message and exit code (an Exit), and -d prints their debug lines.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Decoder } from '../codec/decoder.ts';
import { encode, encode5, PINGREQ_BYTES } from '../codec/encoder.ts';
import type { Packet, PublishPacket } from '../codec/packets.ts';
import type { ClientArgs } from './args.ts';

/** Ends the command: exit code and what goes to stderr. */
export class Exit extends Error {
  constructor(
    readonly code: number,
    readonly text = '',
  ) {
    super(text);
  }
}

const V3_REFUSED = ['', 'unacceptable protocol version', 'identifier rejected', 'broker unavailable', 'bad user name or password', 'not authorised'];
// MQTT 5 CONNACK reason codes from 0x80, as libmosquitto names them.
const V5_REASONS: Record<number, string> = {
  128: 'Unspecified error',
  129: 'Malformed Packet',
  130: 'Protocol Error',
  131: 'Implementation specific error',
  132: 'Unsupported Protocol Version. Try connecting to an MQTT v5 broker, or use MQTT v3.x mode.',
  133: 'Client Identifier not valid',
  134: 'Bad User Name or Password',
  135: 'Not authorized',
  136: 'Server unavailable',
  137: 'Server busy',
  138: 'Banned',
  140: 'Bad authentication method',
  144: 'Topic Name invalid',
  149: 'Packet too large',
  151: 'Quota exceeded',
  153: 'Payload format invalid',
  154: 'Retain not supported',
  155: 'QoS not supported',
  156: 'Use another server',
  157: 'Server moved',
  159: 'Connection rate exceeded',
};

// What strerror() says for the errors a connect meets.
const ERRNO: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

export class Connection {
  readonly sock: net.Socket;
  /** Packets after CONNACK. */
  onPacket: (p: Packet) => void = () => undefined;
  private readonly v5: boolean;
  private sent = 0;
  /** When the unanswered PINGREQ was sent; 0: none. */
  private ping = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private connected: (() => void) | undefined;
  private failed: ((e: Exit) => void) | undefined;
  /** Resolves on an accepted CONNACK. */
  readonly ready: Promise<void>;
  /** Rejects with the Exit that ends the command if the connection fails (at any time). */
  readonly lost: Promise<never>;

  constructor(readonly a: ClientArgs) {
    this.v5 = MQTT5 && a.level === 5;
    const opts = { host: a.host, port: a.port };
    let sock: net.Socket;
    if (TLS && a.tls) {
      sock = tls.connect({
        ...opts,
        ca: a.cafile ? readFileSync(a.cafile) : undefined,
        cert: a.cert ? readFileSync(a.cert) : undefined,
        key: a.key ? readFileSync(a.key) : undefined,
        servername: net.isIP(a.host) ? undefined : a.host,
        // --insecure skips the host name check only; the chain is still verified.
        checkServerIdentity: a.insecure ? () => undefined : tls.checkServerIdentity,
      });
    } else sock = net.connect(opts);
    this.sock = sock;
    sock.setNoDelay(true);
    this.ready = new Promise((resolve) => (this.connected = resolve));
    this.lost = new Promise((_, reject) => (this.failed = reject));
    this.lost.catch(() => undefined);
    const decoder = new Decoder(
      (p) => this.packet(p),
      (e) => this.fail(new Exit(1, `Error: A network protocol error occurred when communicating with the broker. (${e.message})\n`)),
    );
    if (MQTT5) decoder.v5 = this.v5;
    sock.once(TLS && a.tls ? 'secureConnect' : 'connect', () => this.sendConnect());
    sock.on('data', (chunk: Buffer) => decoder.push(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') this.fail(new Exit(1, 'Unable to connect (Lookup error.).\n'));
      // OpenSSL's messages: the reason only ("tlsv13 alert certificate required").
      else if (TLS && a.tls && !ERRNO[code]) this.fail(new Exit(8, `Error: A TLS error occurred. (${err.message.replace(/^[^]*?SSL routines:[^:]*:([^:]*)[^]*$/, '$1')})\n`));
      else this.fail(new Exit(1, `Error: ${ERRNO[code] ?? err.message}\n`));
    });
    sock.on('close', () => this.fail(new Exit(7, 'Error: The connection was lost.\n')));
  }

  /** -d output: "Client ID what". */
  debug(what: string): void {
    if (this.a.debug) process.stdout.write(`Client ${this.a.id || '(null)'} ${what}\n`);
  }

  send(p: Packet, what?: string): void {
    if (what) this.debug(`sending ${what}`);
    this.write(MQTT5 && this.v5 ? encode5(p) : encode(p));
  }

  write(b: Buffer): void {
    this.sent = Date.now();
    this.sock.write(b);
  }

  /** The "(d0, q1, r0, m1, 'topic', ... (5 bytes))" of PUBLISH debug lines. */
  static describe(p: PublishPacket, mid: number): string {
    return `PUBLISH (d${+p.dup}, q${p.qos}, r${+p.retain}, m${mid}, '${p.topic}', ... (${p.payload.length} bytes))`;
  }

  private sendConnect(): void {
    const a = this.a;
    const v3 = a.level === 3;
    this.send(
      {
        type: 1,
        protocolName: v3 ? 'MQIsdp' : 'MQTT',
        protocolLevel: a.level,
        clean: a.clean,
        keepalive: a.keepalive,
        clientId: a.id,
        username: a.username,
        password: a.password === undefined ? undefined : Buffer.from(a.password),
        properties: this.v5 ? a.props.CONNECT : undefined,
      },
      'CONNECT',
    );
    // Keep-alive: a PINGREQ when nothing was sent for the interval; no PINGRESP within another
    // interval means the broker is gone.
    this.timer = setInterval(
      () => {
        const now = Date.now();
        if (this.ping && now - this.ping > a.keepalive * 1000) this.fail(new Exit(7, 'Error: The connection was lost.\n'));
        else if (!this.ping && now - this.sent >= a.keepalive * 1000 - 500) {
          this.debug('sending PINGREQ');
          this.write(PINGREQ_BYTES);
          this.ping = now;
        }
      },
      Math.max(1000, (a.keepalive * 1000) / 4),
    );
  }

  private packet(p: Packet): void {
    if (p.type === 2) {
      const rc = p.returnCode;
      this.debug(`received CONNACK (${rc})`);
      if (rc === 0) return this.connected?.();
      const text = this.v5 ? V5_REASONS[rc] ?? 'Unknown reason' : `Connection Refused: ${V3_REFUSED[rc] ?? 'unknown reason'}.`;
      // mosquitto_pub adds a second line.
      const extra = this.a.sub ? '' : rc < 6 && !this.v5 ? 'Error: The connection was refused.\n' : 'Error: A network protocol error occurred when communicating with the broker.\n';
      return this.fail(new Exit(rc, `Connection error: ${text}\n${extra}`));
    }
    if (p.type === 13) {
      this.ping = 0;
      return this.debug('received PINGRESP');
    }
    this.onPacket(p);
  }

  /** Ends the command with `e` (the first failure wins). */
  fail(e: Exit): void {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    this.sock.destroy();
    this.failed?.(e);
  }

  /** Sends DISCONNECT, closes, and resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.closing = true;
    clearInterval(this.timer);
    this.send({ type: 14, ...(this.v5 && this.a.props.DISCONNECT ? { reasonCode: 0, properties: this.a.props.DISCONNECT } : {}) }, 'DISCONNECT');
    return new Promise((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }
}
