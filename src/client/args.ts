// The command lines of `midge pub` and `midge sub`: mosquitto_pub's and mosquitto_sub's flags,
// checked as they check them and refused in the same words (test/client/args.test.ts compares
// both tools' messages and exit codes).
import { readFileSync } from 'node:fs';
import type { Properties, QoS } from '../codec/packets.ts';
import { topicFilterError, topicNameError } from '../codec/validate.ts';

export interface ClientArgs {
  sub: boolean;
  host: string;
  port: number;
  /** 3 (mqttv31), 4 (mqttv311) or 5 (mqttv5). */
  level: number;
  id: string;
  username?: string;
  password?: string;
  keepalive: number;
  qos: QoS;
  clean: boolean;
  debug: boolean;
  /** pub: one topic; sub: the filters. */
  topics: string[];
  // pub
  retain: boolean;
  /** The message of -m, -f, -n or -s; undefined with -l (lines of stdin). */
  message?: Buffer;
  lines: boolean;
  // sub
  verbose: boolean;
  eol: boolean;
  /** -R: print fresh messages only (no retained ones). */
  fresh: boolean;
  count: number;
  timeout: number;
  format?: string;
  /** -E: exit once subscribed. */
  once: boolean;
  // TLS: set when any TLS flag (or -L mqtts://) is given.
  tls: boolean;
  cafile?: string;
  cert?: string;
  key?: string;
  insecure: boolean;
  /** MQTT 5 properties given with -D, by packet: CONNECT, PUBLISH, SUBSCRIBE, DISCONNECT. */
  props: Record<string, Properties>;
}

/**
 * A command line mistake. `text` is what mosquitto_pub/sub print after "Error: " (with their own
 * trailing newlines); `usage`: the whole usage goes to stdout instead of the one-line hint.
 */
export class ArgError extends Error {
  constructor(
    readonly text: string,
    readonly usage = false,
    readonly hint = true,
  ) {
    super(text);
  }
}

const fail = (text: string, usage?: boolean, hint?: boolean): never => {
  throw new ArgError(text, usage, hint);
};

// -D: the properties one can set, by mosquitto's name (the spec's, lower case with '-'), and
// their type: b byte, h two bytes, i four bytes, v variable byte integer, s string, d binary.
const PROPS: Record<string, string> = {
  payloadFormatIndicator: 'b',
  messageExpiryInterval: 'i',
  contentType: 's',
  responseTopic: 's',
  correlationData: 'd',
  subscriptionIdentifier: 'v',
  sessionExpiryInterval: 'i',
  authenticationMethod: 's',
  authenticationData: 'd',
  requestProblemInformation: 'b',
  willDelayInterval: 'i',
  requestResponseInformation: 'b',
  receiveMaximum: 'h',
  topicAliasMaximum: 'h',
  topicAlias: 'h',
  maximumPacketSize: 'i',
};
const COMMANDS = ['CONNECT', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBCOMP', 'SUBSCRIBE', 'UNSUBSCRIBE', 'DISCONNECT', 'AUTH', 'WILL'];

/** C's atoi: leading digits (after an optional sign), 0 when there are none. */
const atoi = (s: string): number => parseInt(s, 10) || 0;

/** Parses the arguments after `midge pub` / `midge sub`. Throws an ArgError. */
export function parseClientArgs(argv: string[], sub: boolean): ClientArgs {
  const a: ClientArgs = {
    sub,
    host: 'localhost',
    port: 0,
    level: 4,
    id: '',
    keepalive: 60,
    qos: 0,
    clean: true,
    debug: false,
    topics: [],
    retain: false,
    lines: false,
    verbose: false,
    eol: true,
    fresh: false,
    count: 0,
    timeout: 0,
    once: false,
    tls: false,
    insecure: false,
    props: {},
  };
  let what = 0; // pub: message sources given (-m, -f, -n, -l, -s)
  let versionSet = false;
  const message = (m: Buffer | undefined): void => {
    if (what++) fail('Only one type of message can be sent at once.\n\n');
    a.message = m;
  };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i];
    // The value of an option, or the error mosquitto gives when it is missing.
    const val = (name: string, flag = o): string => {
      if (i + 1 >= argv.length) fail(`${flag} argument given but no ${name} specified.\n\n`);
      return argv[++i];
    };
    const tlsFlag = (): void => {
      if (!TLS) fail(`${o} needs TLS, which this build of midge does not include.\n`);
      a.tls = true;
    };
    switch (o) {
      case '-h':
      case '--host':
        a.host = val('host', '-h');
        break;
      case '-p':
      case '--port': {
        const v = val('port', '-p');
        a.port = atoi(v);
        if (a.port < 1 || a.port > 65535) fail(`Invalid port given: ${a.port}\n`);
        break;
      }
      case '-t':
      case '--topic': {
        const t = val('topic', '-t');
        if (sub) {
          if (topicFilterError(t) !== null) fail(`Invalid subscription topic '${t}', are all '+' and '#' wildcards correct?\n`);
          a.topics.push(t);
        } else {
          if (topicNameError(t) !== null) fail(`Invalid publish topic '${t}', does it contain '+' or '#'?\n`);
          a.topics = [t];
        }
        break;
      }
      case '-i':
      case '--id':
        a.id = val('id', '-i');
        break;
      case '-u':
      case '--username':
        a.username = val('username', '-u');
        break;
      case '-P':
      case '--pw':
        a.password = val('password', '-P');
        break;
      case '-k':
      case '--keepalive':
        a.keepalive = atoi(val('keepalive', '-k'));
        if (a.keepalive < 5 || a.keepalive > 65535) fail('Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n');
        break;
      case '-q':
      case '--qos': {
        const q = atoi(val('QoS', '-q'));
        if (q < 0 || q > 2) fail(`Invalid QoS given: ${q}\n`);
        a.qos = q as QoS;
        break;
      }
      case '-V':
      case '--protocol-version': {
        const v = val('version', '--protocol-version');
        a.level = v === 'mqttv5' || v === '5' ? 5 : v === 'mqttv311' || v === '311' ? 4 : v === 'mqttv31' || v === '31' ? 3 : 0;
        if (!a.level) fail('Invalid protocol version argument given.\n\n');
        if (a.level === 5 && !MQTT5) fail('MQTT v5 is not included in this build of midge.\n');
        versionSet = true;
        break;
      }
      case '-c':
      case '--disable-clean-session':
        a.clean = false;
        break;
      case '-d':
      case '--debug':
        a.debug = true;
        break;
      case '-D':
      case '--property':
        property(a, argv, i);
        i += argv[i + 2] === 'user-property' ? 4 : 3;
        if (!versionSet) a.level = 5;
        break;
      case '-L':
      case '--url':
        url(a, val('URL', '-L'));
        break;
      case '--cafile':
        tlsFlag();
        a.cafile = val('file', o);
        break;
      case '--cert':
        tlsFlag();
        a.cert = val('file', o);
        break;
      case '--key':
        tlsFlag();
        a.key = val('file', o);
        break;
      case '--insecure':
        tlsFlag();
        a.insecure = true;
        break;
      default:
        if (sub) {
          switch (o) {
            case '-v':
            case '--verbose':
              a.verbose = true;
              continue;
            case '-N':
              a.eol = false;
              continue;
            case '-R':
              a.fresh = true;
              continue;
            case '-E':
              a.once = true;
              continue;
            case '-C': {
              a.count = atoi(val('count', '-C'));
              if (a.count < 1) fail(`Invalid message count "${a.count}".\n\n`);
              continue;
            }
            case '-W': {
              a.timeout = atoi(val('timeout', '-W'));
              if (a.timeout < 1) fail(`Invalid timeout "${a.timeout}".\n\n`);
              continue;
            }
            case '-F':
              a.format = val('format', '-F');
              continue;
          }
        } else {
          switch (o) {
            case '-r':
            case '--retain':
              a.retain = true;
              continue;
            case '-m':
            case '--message':
              message(Buffer.from(val('message', '-m')));
              continue;
            case '-n':
            case '--null-message':
              message(Buffer.alloc(0));
              continue;
            case '-l':
            case '--stdin-line':
              message(undefined);
              a.lines = true;
              continue;
            case '-s':
            case '--stdin-file':
              message(undefined);
              continue;
            case '-f':
            case '--file': {
              const f = val('file', '-f');
              let m: Buffer | undefined;
              try {
                m = readFileSync(f);
              } catch {
                fail(`Unable to open file "${f}".\nError loading input file "${f}".\n`, false, false);
              }
              message(m);
              continue;
            }
          }
        }
        fail(`Unknown option '${o}'.\n`);
    }
  }
  if (!a.port) a.port = a.tls ? 8883 : 1883;
  if (sub) {
    if (!a.topics.length) fail('You must specify a topic to subscribe to.\n');
  } else if (!a.topics.length || !what) {
    fail('Both topic and message must be supplied.\n', true);
  }
  if (a.password !== undefined && a.username === undefined && a.level < 5) fail('Problem setting username and/or password.\n', false, false);
  if (a.id === '' && a.level === 3) a.id = `mosq-${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 10)}`;
  return a;
}

/** -L mqtt(s)://[username[:password]@]host[:port]/topic */
function url(a: ClientArgs, u: string): void {
  let rest: string;
  if (u.startsWith('mqtt://')) rest = u.slice(7);
  else if (u.startsWith('mqtts://')) {
    if (!TLS) fail('mqtts:// needs TLS, which this build of midge does not include.\n');
    a.tls = true;
    rest = u.slice(8);
  } else return fail('unsupported URL scheme.\n\n');
  const slash = rest.indexOf('/');
  if (slash < 0) fail('Invalid URL for -L argument specified - topic missing.\n');
  let host = rest.slice(0, slash);
  const topic = rest.slice(slash + 1);
  const at = host.lastIndexOf('@');
  if (at >= 0) {
    const user = host.slice(0, at);
    host = host.slice(at + 1);
    const colon = user.indexOf(':');
    a.username = colon < 0 ? user : user.slice(0, colon);
    if (colon >= 0) a.password = user.slice(colon + 1);
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !host.endsWith(']')) {
    a.port = atoi(host.slice(colon + 1));
    host = host.slice(0, colon);
  }
  a.host = host.replace(/^\[(.*)\]$/, '$1');
  if (a.sub) a.topics.push(topic);
  else a.topics = [topic];
}

/** -D COMMAND NAME VALUE, or -D COMMAND user-property KEY VALUE. */
function property(a: ClientArgs, argv: string[], i: number): void {
  const [cmd, name, v1, v2] = argv.slice(i + 1, i + 5);
  const user = name === 'user-property';
  if (v1 === undefined || (user && v2 === undefined)) fail('--property argument given but not enough arguments specified.\n\n');
  if (!MQTT5) fail('-D needs MQTT v5, which is not included in this build of midge.\n');
  const command = cmd.toUpperCase();
  if (!COMMANDS.includes(command)) fail('Invalid command given in --property argument.\n\n');
  const p = (a.props[command] ??= {}) as Record<string, unknown>;
  if (user) {
    ((p.userProperties as [string, string][] | undefined) ??= []).push([v1, v2]);
    return;
  }
  const key = Object.keys(PROPS).find((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) === name);
  if (!key) return fail('Invalid property name given in --property argument.\n\n');
  const t = PROPS[key];
  p[key] = t === 's' ? v1 : t === 'd' ? Buffer.from(v1) : atoi(v1);
}
