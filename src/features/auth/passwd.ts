// `midge passwd`: manages Mosquitto-format password files, with mosquitto_passwd's usage.
// Files it writes work in Mosquitto and the other way round (test/auth/passwd.test.ts).
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { bad } from '../../config/cli.ts';
import { hashPassword, parseHash, splitLines, type PasswordLine } from './password-file.ts';
import { parseScramEntry, scramEntry } from './scram-file.ts';

export const PASSWD_USAGE = `Usage: midge passwd [-H sha512 | -H sha512-pbkdf2] [-c | -D] passwordfile username
       midge passwd [-H sha512 | -H sha512-pbkdf2] [-c] -b passwordfile username password
       midge passwd -U passwordfile
 -b  batch mode: the password is on the command line (else it is asked twice).
 -c  create the file (overwrites an existing one).  -D  delete the user.
 -H  sha512-pbkdf2 ($7$, 101 iterations; default) or sha512 ($6$, Mosquitto 1.x).
 -U  hash the plain-text passwords of a user:password file.
 --scram  with any of the above: SCRAM-SHA-256 entries, for a scram_credentials_file.
`;

interface PasswdArgs {
  create: boolean;
  del: boolean;
  batch: boolean;
  upgrade: boolean;
  /** 's': SCRAM-SHA-256 entries. */
  kind: 6 | 7 | 's';
  pos: string[];
}

function parseArgs(argv: string[]): PasswdArgs {
  const a: PasswdArgs = { create: false, del: false, batch: false, upgrade: false, kind: 7, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '-c') a.create = true;
    else if (t === '-D') a.del = true;
    else if (t === '-b') a.batch = true;
    else if (t === '-U') a.upgrade = true;
    else if (t === '--scram') a.kind = 's';
    else if (t === '-H') {
      const h = argv[++i];
      if (h === 'sha512-pbkdf2') a.kind = 7;
      else if (h === 'sha512') a.kind = 6;
      else bad(`-H needs sha512-pbkdf2 or sha512, got '${h ?? ''}'`);
    } else if (t.startsWith('-') && t.length > 1) bad(`unknown option '${t}'`);
    else a.pos.push(t);
  }
  if (a.create && a.del) bad('-c and -D cannot be used together');
  const want = a.upgrade ? 1 : a.batch && !a.del ? 3 : 2;
  if (a.upgrade && (a.create || a.del || a.batch)) bad('-U takes only a password file');
  if (a.pos.length !== want) bad(`expected ${want} argument${want > 1 ? 's' : ''}, got ${a.pos.length}`);
  return a;
}

/** Two password lines: from the terminal without echo, or from piped stdin. */
async function askPassword(): Promise<string> {
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: process.stdin.isTTY === true });
  const it = rl[Symbol.asyncIterator]();
  try {
    process.stderr.write('Password: ');
    const a = await it.next();
    process.stderr.write('\nReenter password: ');
    const b = await it.next();
    process.stderr.write('\n');
    if (a.done || b.done) bad('no password given');
    if (a.value !== b.value) bad('passwords do not match');
    return a.value as string;
  } finally {
    rl.close();
  }
}

function checkUser(user: string): void {
  if (user === '' || user.includes(':')) bad(`invalid username '${user}' (must be non-empty, without ':')`);
}

function readLines(file: string): PasswordLine[] {
  try {
    return splitLines(readFileSync(file, 'utf8'));
  } catch (err) {
    bad(`cannot read password file '${file}': ${(err as Error).message}`);
  }
}

/** Writes through a temporary file and rename, so a reader (the broker on SIGHUP) never sees half. */
function writeLines(file: string, lines: PasswordLine[], create: boolean): void {
  let mode = 0o600;
  try {
    if (!create) mode = statSync(file).mode & 0o777;
  } catch {
    // new file
  }
  const tmp = `${file}.tmp${process.pid}`;
  writeFileSync(tmp, lines.map((l) => `${l.text}\n`).join(''), { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

const entry = (pw: string, kind: PasswdArgs['kind']): string => (kind === 's' ? scramEntry(pw) : hashPassword(pw, kind));
const isEntry = (s: string, kind: PasswdArgs['kind']): boolean => typeof (kind === 's' ? parseScramEntry : parseHash)(s) !== 'string';

async function passwd(a: PasswdArgs): Promise<void> {
  const [file, user, given] = a.pos;
  if (a.upgrade) {
    const lines = readLines(file).map((l) => {
      if (l.user === undefined) return l;
      const pw = l.text.slice(l.text.indexOf(':') + 1);
      return isEntry(pw, a.kind) ? l : { text: `${l.user}:${entry(pw, a.kind)}`, user: l.user };
    });
    writeLines(file, lines, false);
    return;
  }
  checkUser(user);
  let lines = a.create ? [] : readLines(file);
  if (a.del) {
    const kept = lines.filter((l) => l.user !== user);
    if (kept.length === lines.length) bad(`user '${user}' not found in password file '${file}'`);
    writeLines(file, kept, false);
    return;
  }
  const pw = a.batch ? given : await askPassword();
  if (pw === '') bad('empty password');
  const line = { text: `${user}:${entry(pw, a.kind)}`, user };
  const at = lines.findIndex((l) => l.user === user);
  if (at >= 0) lines = [...lines.slice(0, at), line, ...lines.slice(at + 1).filter((l) => l.user !== user)];
  else lines.push(line);
  writeLines(file, lines, a.create);
}

/** Runs `midge passwd ARGS`; returns the exit code. */
export async function runPasswd(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(PASSWD_USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  try {
    await passwd(parseArgs(argv));
    return 0;
  } catch (err) {
    process.stderr.write(`midge passwd: ${(err as Error).message}\n`);
    if (/argument|option|together|-U|-H/.test((err as Error).message)) process.stderr.write(PASSWD_USAGE);
    return 1;
  }
}
