// `npm run bench [-- --quick] [--only a,b] [--repeat N] [--brokers midge,aedes,mosquitto]
//   [--baseline PATH/broker.min.js]`
// Starts each broker fresh per scenario and repeat, pins broker and load generator to different
// CPUs (taskset), and writes scripts/bench/results/latest.{json,md,svg}: medians with min–max,
// and ratios that read "> 1 means Midge is ahead" (Midge ÷ peer for rates, peer ÷ Midge for
// times, latency and memory). --baseline runs a second Midge bundle (an older build) as one more
// peer on the 3.1.1 scenarios, so a change's cost is a ratio within one run.
// A full run (not --quick, --only or --out) also replaces the text between the
// `<!-- bench:start -->` and `<!-- bench:end -->` markers of docs/benchmarks.md.
// The QoS 1/2 scenarios (PACED) count deliveries, not acknowledgements (issue 14): publishers are
// paced by PUBACK/PUBCOMP only, and a second table gives acknowledged/s, delivered/s, lost after
// acknowledgement, the broker's own $SYS dropped counter and its peak RSS. The `syscalls` section
// (on by default; `--only syscalls` alone) attaches strace -c to Midge and Mosquitto for a short
// QoS 0 and QoS 1 run and states this machine's cost of one system call.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBundle, loadBoard } from '../build.mjs';
import { svgChart } from './chart.mjs';
import { freePort, waitForPort } from './net.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    repeat: { type: 'string' },
    brokers: { type: 'string' },
    out: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const baseline = values.baseline && resolve(values.baseline);
const quick = values.quick ?? false;
const repeat = Number(values.repeat ?? (quick ? 1 : 3));
// Quick runs (development, CI) must not overwrite the committed results of a full run.
const outDir = values.out ?? (quick ? join(root, 'dist', 'bench-quick') : join(here, 'results'));

/** Scenario id → label, whether a higher value is better, and the MQTT version (default 3.1.1). */
export const SCENARIOS = [
  ['a', 'a. QoS 0, 1 → 1 (msg/s)', true],
  ['b', 'b. QoS 0 fan-out 1 → 50 (deliveries/s)', true],
  ['c', 'c. QoS 0 fan-in 50 → 1, wildcard (msg/s)', true],
  ['d', 'd. QoS 1, 1 → 1, paced by PUBACK (delivered/s)', true],
  ['e', 'e. QoS 2, 1 → 1, paced by PUBCOMP (delivered/s)', true],
  ['fanin4', 'k. QoS 1 fan-in 4 → 1, paced by PUBACK (delivered/s)', true],
  ['fanin50', 'k. QoS 1 fan-in 50 → 1, paced by PUBACK (delivered/s)', true],
  ['slow', 'l. QoS 1, subscriber acking 5 000/s, paced by PUBACK (delivered/s)', true],
  ['a5', 'a. MQTT 5: QoS 0, 1 → 1 (msg/s)', true, 5],
  ['b5', 'b. MQTT 5: QoS 0 fan-out 1 → 50 (deliveries/s)', true, 5],
  ['d5', 'd. MQTT 5: QoS 1, 1 → 1, paced by PUBACK (delivered/s)', true, 5],
  ['e5', 'e. MQTT 5: QoS 2, 1 → 1, paced by PUBCOMP (delivered/s)', true, 5],
  ['f1k', 'f. QoS 0, 1 KiB payload (msg/s)', true],
  ['f64k', 'f. QoS 0, 64 KiB payload (msg/s)', true],
  ['g', 'g. latency p50 at 2 000 msg/s (ms)', false],
  ['hIdle', 'h. RSS idle (MB)', false],
  ['h1k', 'h. 1 000 idle connections (KiB/conn)', false],
  ['h10k', `h. ${quick ? '2 000' : '10 000'} idle connections (KiB/conn)`, false],
  ['i', 'i. connection rate, 50 concurrent (conn/s)', true],
  ['j', `j. ${quick ? '2 000' : '10 000'} retained to a # subscriber (ms)`, false],
  ['overload', 'overload: peak RSS, no cap, stuck subscriber (MB)', false],
];

/**
 * The QoS 1/2 scenarios: publishers paced by the broker's PUBACK/PUBCOMP only (100 in flight
 * each), one subscriber counting distinct deliveries; the brokers publish $SYS every second.
 */
const PACED = new Set(['d', 'e', 'fanin4', 'fanin50', 'slow', 'd5', 'e5']);
/** The loads strace counts system calls for (the `syscalls` section): QoS 0 and QoS 1, 1 → 1. */
const TRACED = [
  ['a', 'QoS 0, 1 → 1'],
  ['d', 'QoS 1, 1 → 1, paced by PUBACK'],
];

/** Scenarios a peer skips in a quick run (CI's time), shown as n/a there. */
const QUICK_SKIP = { aedes: ['fanin4', 'fanin50', 'slow'] };
const skipped = (b, id) => quick && QUICK_SKIP[b]?.includes(id);

/** Peers that are not run on the MQTT 5 scenarios, and why their cell says n/a. */
const NO_V5 = { aedes: 'no MQTT 5', baseline: '3.1.1 only' };
const NAMES = { midge: 'Midge', baseline: 'Midge (baseline)', aedes: 'aedes', mosquitto: 'Mosquitto' };
/** Ratio columns: peer, row key, heading. */
const RATIOS = [
  ['baseline', 'vsBaseline', 'Midge vs baseline'],
  ['aedes', 'vsAedes', 'Midge vs aedes'],
  ['mosquitto', 'vsMosquitto', 'Midge vs Mosquitto'],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const mosquittoBin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find(existsSync);
/** A command's path on PATH, or undefined. */
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).stdout?.toString().trim() || undefined;
const straceBin = which('strace');

/**
 * How to start each broker on a port, pinned to CPU 0, with an fd limit for 10 000 clients;
 * `sys`: publish $SYS every second (the PACED scenarios read the dropped counter from it).
 */
function brokerCommand(name, port, tmp, { sys = false } = {}) {
  const conf = join(tmp, `${name}.conf`);
  // Both allow 100 unacknowledged messages towards a subscriber and queue 1 000 more (both
  // brokers' default, stated so the comparison is explicit); aedes has neither limit.
  const common = `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval ${sys ? 1 : 0}\nlog_type error\nmax_inflight_messages 100\nmax_queued_messages 1000\n`;
  if (name === 'midge' || name === 'baseline') {
    writeFileSync(conf, common);
    // As the linux-x64 launcher and `npm start` run it: with that board's Node flags.
    const flags = loadBoard('linux-x64').nodeFlags.join(' ');
    return `exec taskset -c 0 ${process.execPath} ${flags} ${name === 'midge' ? join(root, 'dist/broker.min.js') : baseline} -c ${conf}`;
  }
  if (name === 'node') {
    // A bare Node process that only listens: the floor Midge's idle RSS is compared with.
    return `exec taskset -c 0 ${process.execPath} -e "require('net').createServer().listen(${port}, '127.0.0.1')"`;
  }
  if (name === 'mosquitto') {
    // set_tcp_nodelay: Midge and aedes disable Nagle too; without it request/response flows
    // (QoS 1/2) stall on delayed ACKs and Mosquitto would be measured unfairly.
    writeFileSync(conf, `${common}set_tcp_nodelay true\n`);
    return `exec taskset -c 0 ${mosquittoBin} -c ${conf}`;
  }
  return `exec taskset -c 0 ${process.execPath} ${join(here, 'aedes-server.mjs')} ${port}`;
}

/**
 * Starts broker `name` on a free port; tries another port (3 times at most) if it exits before
 * listening: on a busy machine another process can take the port freePort() just released.
 */
async function startBroker(name, tmp, sys) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const broker = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; ${brokerCommand(name, port, tmp, { sys })}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = { port, broker, stderr: '' };
    broker.stderr.on('data', (d) => (out.stderr += d));
    try {
      await waitForPort(port, 10_000, broker);
      return out;
    } catch (err) {
      broker.kill('SIGKILL');
      if (attempt === 3) throw new Error(`${name} did not start: ${err.message}; ${out.stderr.trim()}`);
    }
  }
}

/**
 * One load against one freshly started broker. PACED scenarios turn $SYS on (not for aedes, which
 * has no dropped counter). `strace`: count the broker's system calls over the whole load run
 * (strace -c -f attached to all its threads), as `syscalls` (total) and `syscallTop`.
 */
async function runOne(name, scenario, tmp, { strace = false, seconds } = {}) {
  const sys = PACED.has(scenario) && name !== 'aedes' && !strace;
  const started = await startBroker(name, tmp, sys);
  const { port, broker } = started;
  let tracer;
  try {
    if (strace) tracer = await attachStrace(broker.pid, join(tmp, `strace-${name}-${scenario}.txt`));
    const args = [join(here, 'load.mjs'), scenario, String(port), String(broker.pid)];
    if (quick) args.push('--quick');
    if (sys) args.push('--sys');
    if (seconds) args.push('--seconds', String(seconds));
    const out = await new Promise((resolve, reject) => {
      const load = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; exec taskset -c 1 ${process.execPath} ${args.join(' ')}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      load.stdout.on('data', (d) => (text += d));
      const guard = setTimeout(() => load.kill('SIGKILL'), 120_000);
      load.on('exit', (code) => {
        clearTimeout(guard);
        code === 0 ? resolve(text) : reject(new Error(`load ${scenario} on ${name} exited ${code}`));
      });
    });
    const result = JSON.parse(out.trim().split('\n').pop());
    if (broker.exitCode !== null) result.brokerDied = true;
    if (tracer) Object.assign(result, await tracer.stop());
    return result;
  } finally {
    if (tracer) await tracer.stop();
    broker.kill('SIGTERM');
    const exited = new Promise((r) => broker.once('exit', r));
    if ((await Promise.race([exited, sleep(3000).then(() => 'late')])) === 'late') broker.kill('SIGKILL');
    if (started.stderr.trim() && process.env.BENCH_VERBOSE) console.error(`[${name}] ${started.stderr.trim()}`);
  }
}

/**
 * Attaches `strace -c -f` to a running process (all its threads); resolves once attached (or
 * after 5 s). stop() detaches with SIGINT and parses the summary: total calls and the top 3.
 */
async function attachStrace(pid, file) {
  const st = spawn(straceBin, ['-c', '-f', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => st.once('exit', r));
  await new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    let text = '';
    st.stderr.on('data', (d) => {
      text += d;
      if (/attached/.test(text)) {
        clearTimeout(t);
        setTimeout(resolve, 200); // the rest of the threads
      }
    });
    st.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
  let result;
  return {
    async stop() {
      if (result) return result;
      st.kill('SIGINT');
      if ((await Promise.race([exited, sleep(5000).then(() => 'late')])) === 'late') st.kill('SIGKILL');
      result = parseStrace(existsSync(file) ? readFileSync(file, 'utf8') : '');
      return result;
    },
  };
}

/**
 * strace -c's summary: rows "% time, seconds, usecs/call, calls, [errors], syscall" and a
 * "total" row (its errors column may be empty, so calls is always the 4th field).
 */
function parseStrace(text) {
  const rows = [];
  let syscalls;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0])) continue;
    const calls = Number(f[3]);
    if (f[f.length - 1] === 'total') syscalls = calls;
    else rows.push([f[f.length - 1], calls]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  return syscalls === undefined ? { straceError: 'no strace summary' } : { syscalls, syscallTop: rows.slice(0, 3) };
}

/**
 * This machine's cost of one cheap system call (µs): getppid() in a C loop (1 000 000 calls,
 * best of 3, on CPU 1); without a C compiler, Node's process.ppid (one getppid each, plus the
 * binding's overhead: an upper bound).
 */
function syscallCost(tmp) {
  const runs = (cmd, args) => Array.from({ length: 3 }, () => Number(spawnSync(cmd, args, { timeout: 30_000 }).stdout?.toString().trim())).filter((v) => v > 0);
  const cc = which('cc');
  if (cc) {
    const src = join(tmp, 'getppid.c');
    const exe = join(tmp, 'getppid');
    writeFileSync(
      src,
      `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
`,
    );
    if (spawnSync(cc, ['-O2', '-o', exe, src]).status === 0) {
      const ns = runs('taskset', ['-c', '1', exe, '1000000']);
      if (ns.length) return { us: Math.min(...ns) / 1000, how: 'getppid() in a C loop, 1 000 000 calls, best of 3' };
    }
  }
  const script = 'let s=0;const n=1e6,t=process.hrtime.bigint();for(let i=0;i<n;i++)s+=process.ppid;console.log(Number(process.hrtime.bigint()-t)/n)';
  const ns = runs('taskset', ['-c', '1', process.execPath, '-e', script]);
  return ns.length ? { us: Math.min(...ns) / 1000, how: "Node's process.ppid (getppid() plus the binding's overhead: an upper bound; no C compiler), 1 000 000 calls, best of 3" } : undefined;
}

/**
 * The `syscalls` section: for Midge and Mosquitto, system calls per delivered message with strace
 * attached for a short QoS 0 and QoS 1 run (ptrace slows the traced run, so only its counts are
 * used), and user and system CPU per message from the untraced runs of the same scenarios (this
 * run's, else one more each), beside this machine's cost of one system call.
 */
async function syscallSection(results, brokers, tmp) {
  if (!straceBin) return { skipped: 'strace not found (apt-get install strace)' };
  const cost = syscallCost(tmp);
  const rows = [];
  for (const [id, label] of TRACED) {
    for (const b of brokers.filter((x) => x === 'midge' || x === 'mosquitto')) {
      const plain = results[id]?.[b]?.filter((r) => Number.isFinite(r.cpuUserUs)) ?? [];
      if (!plain.length) plain.push(await runOne(b, id, tmp));
      const traced = await runOne(b, id, tmp, { strace: true, seconds: quick ? 0.5 : 2 });
      const delivered = traced.delivered ?? traced.received;
      const row = {
        id,
        label,
        broker: b,
        syscalls: traced.syscalls,
        delivered,
        perMsg: traced.syscalls / delivered,
        top: traced.syscallTop,
        userUs: median(plain.map((r) => r.cpuUserUs)),
        sysUs: median(plain.map((r) => r.cpuSysUs)),
        error: traced.straceError,
      };
      rows.push(row);
      console.error(`syscalls ${label} [${b}]: ${sig(row.perMsg)} per delivered message (${traced.syscalls} calls, ${delivered} messages under strace); user ${fmt(row.userUs)} µs, system ${fmt(row.sysUs)} µs per message`);
    }
  }
  return { cost, rows };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median, min and max of the finite values, or undefined. */
function spread(xs) {
  const vs = xs.filter((v) => Number.isFinite(v));
  return vs.length ? { median: median(vs), min: Math.min(...vs), max: Math.max(...vs) } : undefined;
}

/** A count: whole numbers, thin spaces from 1 000. */
const count = (v) => (v === undefined || Number.isNaN(v) ? '—' : v >= 1000 ? fmt(v) : String(Math.round(v)));

/** "median (min–max)", or the one value when they agree. */
function spreadCell(st, f = fmt) {
  if (!st) return '—';
  return st.min === st.max ? f(st.median) : `${f(st.median)} (${f(st.min)}–${f(st.max)})`;
}

/** Small ratios with 3 significant digits (0.00412), larger ones as fmt. */
const sig = (v) => (!Number.isFinite(v) ? '—' : v >= 10 ? fmt(v) : String(Number(v.toPrecision(3))));

function fmt(v) {
  if (v === undefined || Number.isNaN(v)) return '—';
  if (v >= 1000) return Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

async function main() {
  const brokers = (values.brokers ?? 'midge,aedes,mosquitto').split(',').filter((b) => b !== 'mosquitto' || mosquittoBin);
  if (!mosquittoBin) console.error('bench: Debian mosquitto not found; skipping it (apt-get install mosquitto)');
  if (baseline) {
    if (!existsSync(baseline)) throw new Error(`bench: --baseline ${baseline} does not exist`);
    if (!brokers.includes('baseline')) brokers.splice(brokers.indexOf('midge') + 1, 0, 'baseline');
  } else if (brokers.includes('baseline')) throw new Error('bench: the baseline peer needs --baseline PATH');
  const only = values.only?.split(',');
  const scenarios = SCENARIOS.filter(([id]) => !only || only.includes(id));
  const wantSyscalls = !only || only.includes('syscalls');
  const unknown = only?.filter((id) => id !== 'syscalls' && !SCENARIOS.some(([s]) => s === id));
  if (unknown?.length) throw new Error(`bench: unknown scenario ${unknown.join(', ')}; have ${SCENARIOS.map(([id]) => id).join(' ')} syscalls`);
  console.error(`bench: building dist/broker.min.js`);
  await buildBundle({ outfile: join(root, 'dist/broker.min.js') });
  const tmp = mkdtempSync(join(os.tmpdir(), 'midge-bench-'));
  const results = {};
  let bareNodeMb;
  let syscalls;
  try {
    if (scenarios.some(([id]) => id === 'hIdle')) bareNodeMb = (await runOne('node', 'hIdle', tmp)).value;
    for (const [id, label, , version] of scenarios) {
      results[id] = {};
      for (let r = 0; r < repeat; r++) {
        // Interleave brokers within a repeat, in reverse order every other repeat, so drift on a
        // shared machine hits all of them alike.
        for (const b of r % 2 ? [...brokers].reverse() : brokers) {
          if ((version === 5 && NO_V5[b]) || skipped(b, id)) continue;
          // A broker that fails an MQTT 5 scenario gets an n/a cell with the reason; a 3.1.1
          // failure still stops the run (CI's quick run is there to catch that).
          const res = await runOne(b, id, tmp).catch((err) => {
            if (version === 5) return { na: err.message };
            throw err;
          });
          (results[id][b] ??= []).push(res);
          if (res.na) {
            console.error(`${label} [${b} #${r + 1}]: n/a (${res.na})`);
            continue;
          }
          const flags = [res.saturated ? 'load SATURATED' : '', res.lost ? `lost${PACED.has(id) ? ' after acknowledgement' : ''} ${res.lost}` : '', res.error ?? '', res.brokerDied ? 'BROKER DIED' : '', res.alive === false ? 'broker gone' : ''].filter(Boolean).join(', ');
          const paced = PACED.has(id) ? ` delivered (acknowledged ${fmt(res.ackRate)}/s, ${res.delivered} of ${res.acked} delivered, $SYS dropped ${res.dropped ?? '—'}, peak RSS ${fmt(res.peakRssKb / 1024)} MB)` : '';
          console.error(`${label} [${b} #${r + 1}]: ${fmt(res.value)} ${res.unit}${paced}${res.p99 !== undefined ? ` (p99 ${fmt(res.p99)})` : ''}${flags ? ` — ${flags}` : ''}`);
        }
      }
    }
    if (wantSyscalls) syscalls = await syscallSection(results, brokers, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  report(results, brokers, scenarios, bareNodeMb, syscalls);
}

function report(results, brokers, scenarios, bareNodeMb, syscalls) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const meta = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    mosquitto: mosquittoBin ? spawnSync(mosquittoBin, ['-h']).stdout.toString().split('\n')[0] : undefined,
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    repeat,
    bareNodeMb,
    midgeFlags: loadBoard('linux-x64').nodeFlags.join(' '),
    baseline,
    syscallCost: syscalls?.cost,
  };
  const rows = scenarios.map(([id, label, higherBetter, version]) => {
    const stats = {};
    for (const b of brokers) {
      const vs = (results[id][b] ?? []).map((r) => r.value).filter((v) => Number.isFinite(v));
      stats[b] = vs.length ? { median: median(vs), min: Math.min(...vs), max: Math.max(...vs) } : undefined;
      // n/a: a peer without MQTT 5, or a broker that refused or broke every run of the scenario.
      const na = version === 5 ? (NO_V5[b] ?? (results[id][b] ?? []).find((r) => r.na)?.na) : undefined;
      if (!stats[b] && na) stats[b] = { na };
      if (!stats[b] && skipped(b, id)) stats[b] = { na: 'not run with --quick' };
      const p99 = (results[id][b] ?? []).map((r) => r.p99).filter((v) => v !== undefined);
      if (p99.length && stats[b]) stats[b].p99 = median(p99);
      const lost = (results[id][b] ?? []).reduce((a, r) => a + (r.lost ?? 0), 0);
      if (stats[b]) stats[b].lost = lost;
      if (stats[b]) stats[b].saturated = (results[id][b] ?? []).some((r) => r.saturated);
      const cpuUs = (results[id][b] ?? []).map((r) => r.cpuUs).filter((v) => Number.isFinite(v));
      if (cpuUs.length && stats[b]) stats[b].cpuUs = median(cpuUs);
      if (!stats[b] || stats[b].na) continue;
      const runs = (results[id][b] ?? []).filter((r) => !r.na);
      for (const k of ['cpuUserUs', 'cpuSysUs']) {
        const vs = runs.map((r) => r[k]).filter((v) => Number.isFinite(v));
        if (vs.length) stats[b][k] = median(vs);
      }
      if (PACED.has(id)) {
        // The QoS 1/2 table: acknowledged/s beside the headline delivered/s, what was acknowledged
        // and never delivered, the broker's own count of drops, and its peak RSS.
        stats[b].paced = {
          ack: spread(runs.map((r) => r.ackRate)),
          lost: spread(runs.map((r) => r.lost)),
          dropped: spread(runs.map((r) => r.dropped)),
          peakMb: spread(runs.map((r) => r.peakRssKb / 1024)),
          pacedCount: spread(runs.map((r) => r.paced)),
          dup: runs.reduce((a, r) => a + (r.dup ?? 0), 0),
          reordered: runs.reduce((a, r) => a + (r.reordered ?? 0), 0),
          refused: runs.reduce((a, r) => a + (r.refused ?? 0), 0),
          drainCapped: runs.some((r) => r.drainCapped),
          sysStale: runs.some((r) => r.sysFresh === false),
          window: Math.min(...runs.map((r) => r.window ?? 100)),
          errors: [...new Set(runs.map((r) => r.error).filter(Boolean))],
        };
      }
    }
    const ratio = (peer) => {
      const m = stats.midge?.median;
      const p = stats[peer]?.median;
      if (!m || !p) return undefined;
      return higherBetter ? m / p : p / m;
    };
    return { id, label, higherBetter, version, stats, ...Object.fromEntries(RATIOS.map(([peer, key]) => [key, ratio(peer)])) };
  });
  const ratios = RATIOS.filter(([peer]) => brokers.includes(peer));
  const cell = (s) => (s?.na ? `n/a (${s.na})` : s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})${s.p99 !== undefined ? ` p99 ${fmt(s.p99)}` : ''}${s.lost ? ` lost ${s.lost}` : ''}${s.saturated ? ' ⚠' : ''}` : '—');
  const lines = [
    `Benchmark of ${meta.date.slice(0, 10)} on ${meta.machine}; ${meta.mosquitto ?? 'no mosquitto'}.`,
    `Command: \`${meta.command}\`; median (min–max) of ${repeat} run${repeat > 1 ? 's' : ''}, each broker started fresh, broker on CPU 0, load on CPU 1.`,
    `Midge runs as \`node ${meta.midgeFlags} dist/broker.min.js\` (the linux-x64 launcher's flags). A bare \`node\` process listening on a socket: ${bareNodeMb ? `${fmt(bareNodeMb)} MB` : 'not measured'} RSS.`,
    ...(baseline ? [`Midge (baseline) is \`${baseline}\` (${statSync(baseline).size} bytes), run the same way: an older build, measured on the 3.1.1 scenarios only.`] : []),
    'Ratios: > 1 means Midge is ahead (Midge ÷ peer for rates; peer ÷ Midge for times, latency and memory). ⚠ = load generator saturated (figure is a floor). "MQTT 5" rows: the same load with v5 packets. QoS 1/2 rows (d, e, k, l): delivered/s with publishers paced by the broker\'s acknowledgements only; "lost" there = acknowledged and never delivered (sum over runs), details in the QoS 1/2 table.',
  ];
  if (rows.length) {
    lines.push(
      '',
      `| Scenario | ${brokers.map((b) => NAMES[b]).join(' | ')} | ${ratios.map(([, , h]) => h).join(' | ')} |`,
      `|---|${brokers.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|`,
      ...rows.map((r) => `| ${r.label} | ${brokers.map((b) => cell(r.stats[b])).join(' | ')} | ${ratios.map(([, k]) => (r[k] ? `${fmt(r[k])}×` : '—')).join(' | ')} |`),
    );
  }
  // QoS 1/2: deliveries against acknowledgements, one row per scenario and broker.
  const pacedRows = rows.filter((r) => PACED.has(r.id));
  if (pacedRows.length) {
    lines.push(
      '',
      'QoS 1/2, publishers paced by PUBACK/PUBCOMP only (100 in flight each, whatever the subscriber has received), one subscriber counting distinct deliveries per publisher from a sequence number in each payload. ' +
        'Acknowledged = PUBACK (QoS 1) or PUBREC (QoS 2). Lost = messages acknowledged to their publisher and never delivered, counted after a drain (until every one arrived, nothing moved for ' +
        `${quick ? '300 ms, or 3 s' : '500 ms, or 10 s'}). Dropped = the broker's own $SYS counter at the end (Midge \`$SYS/broker/messages/dropped\`, Mosquitto \`$SYS/broker/publish/messages/dropped\`; sys_interval 1; aedes has none). ` +
        'Peak RSS = VmHWM of the broker process. Median (min–max) per cell.',
      '',
      '| Scenario | Broker | acknowledged/s | delivered/s | lost after acknowledgement | dropped ($SYS) | peak RSS (MB) | notes |',
      '|---|---|---:|---:|---:|---:|---:|---|',
    );
    for (const r of pacedRows) {
      for (const b of brokers) {
        const st = r.stats[b];
        if (!st || (st.na && ((r.version === 5 && NO_V5[b]) || skipped(b, r.id)))) continue; // never run
        if (st.na) {
          lines.push(`| ${r.label} | ${NAMES[b]} | n/a (${st.na}) | | | | | |`);
          continue;
        }
        const q = st.paced;
        const notes = [
          st.saturated ? '⚠ load saturated' : '',
          q.dup ? `${q.dup} duplicates` : '',
          q.reordered ? `${q.reordered} out of order` : '',
          q.refused ? `${q.refused} refused (reason ≥ 0x80)` : '',
          q.drainCapped ? 'drain cut while still delivering' : '',
          q.sysStale ? '$SYS not refreshed after the drain' : '',
          q.window < 100 ? `window ${q.window} (Receive Maximum)` : '',
          // Midge's count of times it held a publisher back (withheld its ack, paused its socket).
          q.pacedCount?.max ? `$SYS messages/paced ${spreadCell(q.pacedCount, count)}` : '',
          ...q.errors,
        ].filter(Boolean);
        lines.push(`| ${r.label} | ${NAMES[b]} | ${spreadCell(q.ack)} | ${spreadCell(st)} | ${spreadCell(q.lost, count)} | ${spreadCell(q.dropped, count)} | ${spreadCell(q.peakMb)} | ${notes.join('; ')} |`);
      }
    }
  }
  // Broker CPU time per message: what a message costs the broker, beside how many got through
  // (a busy machine inflates both, so compare within one run here too).
  const cpuRows = rows.filter((r) => brokers.some((b) => r.stats[b]?.cpuUs !== undefined));
  if (cpuRows.length) {
    lines.push('', 'Broker CPU time per message (delivered, for the QoS 1/2 rows) over the same windows, total (user + system) in µs, median; lower is better:', '');
    lines.push(`| Scenario | ${brokers.map((b) => NAMES[b]).join(' | ')} |`, `|---|${brokers.map(() => '---:').join('|')}|`);
    const cpuCell = (st) => (st?.cpuUs === undefined ? '—' : `${fmt(st.cpuUs)}${st.cpuUserUs !== undefined ? ` (${fmt(st.cpuUserUs)} + ${fmt(st.cpuSysUs)})` : ''}`);
    for (const r of cpuRows) lines.push(`| ${r.label} | ${brokers.map((b) => cpuCell(r.stats[b])).join(' | ')} |`);
  }
  if (syscalls) {
    lines.push('', 'System calls per delivered message:', '');
    if (syscalls.skipped) lines.push(`Not measured: ${syscalls.skipped}.`);
    else {
      const c = syscalls.cost;
      lines.push(
        `\`strace -c -f -p PID\` attached to the broker (all threads) for a whole short run, calls ÷ messages delivered in it (ptrace slows the traced run, so only its counts are used); ` +
          'user and system CPU per message from the untraced runs of the same scenario. ' +
          (c ? `On this machine one system call costs ${fmt(c.us)} µs (${c.how}): a broker's syscall overhead per message is about syscalls/msg × ${fmt(c.us)} µs; scale by the cost measured elsewhere to read these ratios for other hardware.` : 'The cost of one system call could not be measured here.'),
        '',
        '| Load | Broker | syscalls/msg | most frequent | user CPU µs/msg | system CPU µs/msg | syscalls × cost, µs/msg |',
        '|---|---|---:|---|---:|---:|---:|',
      );
      for (const r of syscalls.rows) {
        const top = r.top?.map(([name, n]) => `${name} ${sig(n / r.delivered)}`).join(', ') ?? r.error ?? '—';
        lines.push(`| ${r.label} | ${NAMES[r.broker]} | ${sig(r.perMsg)} | ${top} | ${fmt(r.userUs)} | ${fmt(r.sysUs)} | ${c ? sig(r.perMsg * c.us) : '—'} |`);
      }
    }
  }
  const overload = results.overload;
  if (overload) {
    lines.push('', 'Overload (no outstanding cap, 1 KiB messages, a subscriber that never reads): broker RSS over time (ms: MB)', '');
    for (const b of brokers) {
      const series = overload[b]?.[0]?.series ?? [];
      const alive = overload[b]?.[0]?.alive !== false && !overload[b]?.[0]?.brokerDied;
      lines.push(`- ${b}: ${series.map(([t, kb]) => `${t}: ${Math.round(kb / 1024)}`).join(', ')}${alive ? '' : ' — broker died'}`);
    }
  }
  const md = lines.join('\n') + '\n';
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.md'), md);
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify({ meta, rows, syscalls, raw: results }, null, 2));
  writeFileSync(join(outDir, 'latest.svg'), svgChart(rows, meta));
  // A full run of every scenario is the one docs/benchmarks.md quotes, between its markers.
  if (!quick && !values.only && !values.out) {
    const page = join(root, 'docs', 'benchmarks.md');
    const text = readFileSync(page, 'utf8');
    const start = text.indexOf('<!-- bench:start -->');
    const end = text.indexOf('<!-- bench:end -->');
    if (start >= 0 && end > start) {
      writeFileSync(page, `${text.slice(0, start)}<!-- bench:start -->\n${md}<!-- bench:end -->${text.slice(end + '<!-- bench:end -->'.length)}`);
      console.error(`bench: wrote the results into ${page}`);
    } else console.error(`bench: no bench:start/bench:end markers in ${page}; results not copied there`);
  }
  console.log(md);
  console.error(`bench: wrote ${join(outDir, 'latest.md')}, latest.json and latest.svg`);
}

await main();
