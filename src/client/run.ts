// `midge pub ...` and `midge sub ...`: mosquitto_pub and mosquitto_sub in the broker's file
// (profiles with AUTH), for boards without mosquitto-clients. Flags, output, messages and exit
// codes are theirs; docs/cli.md lists what is supported.
import { ArgError, parseClientArgs } from './args.ts';
import { Exit } from './connection.ts';
import { checkFormat } from './format.ts';
import { runPub } from './pub.ts';
import { runSub } from './sub.ts';

const COMMON = `{[-h host] [-p port] [-u username] [-P password] -t topic | -L URL}
 -h host   broker host (default localhost)    -p port    port (1883, 8883 with TLS)
 -t topic  topic                              -L URL     mqtt(s)://[user[:password]@]host[:port]/topic
 -u user   username                           -P pass    password
 -i id     client id                          -k secs    keep-alive (default 60)
 -q qos    0, 1 or 2                          -c         no clean session
 -V ver    mqttv31, mqttv311 (default) or mqttv5
 -D command name value, -D command user-property key value: an MQTT 5 property
 -d        print debug lines
${TLS ? ' --cafile file  --cert file  --key file  TLS (as mqtts://); --insecure skips the host name check\n' : ''}`;

const usage = (sub: boolean): string =>
  sub
    ? `Usage: midge sub ${COMMON} -v        print "topic payload"              -N         no end of line
 -C count  exit after count messages          -W secs    exit (code 27) after secs
 -R        skip retained (stale) messages     -E         exit once subscribed
 -F format print with a format: %t %p %q %r %l %m %x %X %I %U %j %J %%, @ time, \\ escapes
`
    : `Usage: midge pub ${COMMON} {-m message | -f file | -n | -l | -s}
 -m msg    the message                        -f file    a file as the message
 -n        an empty message                   -r         retained
 -l        each line of stdin a message       -s         all of stdin one message
`;

/** Runs `midge pub|sub ARGS`; returns the exit code (mosquitto_pub/sub's). */
export async function runClient(cmd: string, argv: string[]): Promise<number> {
  const sub = cmd === 'sub';
  if (argv.includes('--help')) {
    process.stdout.write(usage(sub));
    return 1;
  }
  let a;
  try {
    a = parseClientArgs(argv, sub);
    if (a.format !== undefined) checkFormat(a.format);
  } catch (err) {
    if (!(err instanceof ArgError)) throw err;
    process.stderr.write(`Error: ${err.text}${err.hint && !err.usage ? `\nUse 'midge ${cmd} --help' to see usage.\n` : ''}`);
    if (err.usage) process.stdout.write(usage(sub));
    return 1;
  }
  try {
    return await (sub ? runSub(a) : runPub(a));
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    process.stderr.write(err.text);
    return err.code;
  }
}
