// `midge pub ...` and `midge sub ...`: mosquitto_pub and mosquitto_sub in the broker's file
// (profiles with AUTH), for boards without mosquitto-clients. Flags, output, messages and exit
// codes are theirs; docs/cli.md lists what is supported.
import { ArgError, parseClientArgs } from './args.ts';
import { Exit } from './connection.ts';
import { checkFormat } from './format.ts';
import { runPub } from './pub.ts';
import { runSub } from './sub.ts';

const COMMON = `{[-h host] [-p port] [-u user] [-P password] -t topic | -L mqtt${TLS ? '(s)' : ''}://[user[:password]@]host[:port]/topic}
  [-i id] [-k keepalive] [-q qos] [-c] [-d] [-V mqttv31|mqttv311|mqttv5] [-D command name [key] value]
${TLS ? '  [--cafile file [--cert file --key file] [--insecure]]\n' : ''}`;

const usage = (sub: boolean): string =>
  `Usage: midge ${sub ? 'sub' : 'pub'} ${COMMON}${
    sub
      ? '  [-v] [-N] [-R] [-E] [-C count] [-W seconds] [-F format: %t %p %q %r %l %m %x %X %I %U %j %J %% @ \\]\n'
      : '  {-m message | -f file | -n | -l | -s} [-r]\n'
  }As mosquitto_${sub ? 'sub' : 'pub'}: see docs/cli.md.\n`;

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
