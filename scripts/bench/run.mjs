// `npm run bench [-- --quick] [--only a,b] [--repeat N] [--brokers midge,aedes,mosquitto]
//   [--baseline PATH/broker.min.js]`
// Starts each broker fresh per scenario and repeat, pins broker and load generator to different
// CPUs (taskset), and writes scripts/bench/results/latest.{json,md,svg}: medians with min–max,
// and ratios that read "> 1 means Midge is ahead" (Midge ÷ peer for rates, peer ÷ Midge for
// times, latency and memory). --baseline runs a second Midge bundle (an older build) as one more
// peer on the 3.1.1 scenarios, so a change's cost is a ratio within one run.
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
  ['d', 'd. QoS 1, window 100 (msg/s)', true],
  ['e', 'e. QoS 2, 1 → 1 (msg/s)', true],
  ['a5', 'a. MQTT 5: QoS 0, 1 → 1 (msg/s)', true, 5],
  ['b5', 'b. MQTT 5: QoS 0 fan-out 1 → 50 (deliveries/s)', true, 5],
  ['d5', 'd. MQTT 5: QoS 1, window 100 (msg/s)', true, 5],
  ['e5', 'e. MQTT 5: QoS 2, 1 → 1 (msg/s)', true, 5],
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

/** How to start each broker on a port, pinned to CPU 0, with an fd limit for 10 000 clients. */
function brokerCommand(name, port, tmp) {
  const conf = join(tmp, `${name}.conf`);
  // Both allow 100 unacknowledged messages towards a subscriber, the window scenarios d and e use
  // end to end (aedes has no such limit).
  if (name === 'midge' || name === 'baseline') {
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 0\nlog_type error\nmax_inflight_messages 100\n`);
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
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 0\nlog_type error\nset_tcp_nodelay true\nmax_inflight_messages 100\n`);
    return `exec taskset -c 0 ${mosquittoBin} -c ${conf}`;
  }
  return `exec taskset -c 0 ${process.execPath} ${join(here, 'aedes-server.mjs')} ${port}`;
}

async function runOne(name, scenario, tmp) {
  const port = await freePort();
  const broker = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; ${brokerCommand(name, port, tmp)}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  broker.stderr.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port);
    const args = [join(here, 'load.mjs'), scenario, String(port), String(broker.pid)];
    if (quick) args.push('--quick');
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
    return result;
  } finally {
    broker.kill('SIGTERM');
    const exited = new Promise((r) => broker.once('exit', r));
    if ((await Promise.race([exited, sleep(3000).then(() => 'late')])) === 'late') broker.kill('SIGKILL');
    if (stderr.trim() && process.env.BENCH_VERBOSE) console.error(`[${name}] ${stderr.trim()}`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

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
  console.error(`bench: building dist/broker.min.js`);
  await buildBundle({ outfile: join(root, 'dist/broker.min.js') });
  const tmp = mkdtempSync(join(os.tmpdir(), 'midge-bench-'));
  const results = {};
  let bareNodeMb;
  try {
    if (scenarios.some(([id]) => id === 'hIdle')) bareNodeMb = (await runOne('node', 'hIdle', tmp)).value;
    for (const [id, label, , version] of scenarios) {
      results[id] = {};
      for (let r = 0; r < repeat; r++) {
        // Interleave brokers within a repeat, in reverse order every other repeat, so drift on a
        // shared machine hits all of them alike.
        for (const b of r % 2 ? [...brokers].reverse() : brokers) {
          if (version === 5 && NO_V5[b]) continue;
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
          const flags = [res.saturated ? 'load SATURATED' : '', res.lost ? `lost ${res.lost}` : '', res.error ?? '', res.brokerDied ? 'BROKER DIED' : '', res.alive === false ? 'broker gone' : ''].filter(Boolean).join(', ');
          console.error(`${label} [${b} #${r + 1}]: ${fmt(res.value)} ${res.unit}${res.p99 !== undefined ? ` (p99 ${fmt(res.p99)})` : ''}${flags ? ` — ${flags}` : ''}`);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  report(results, brokers, scenarios, bareNodeMb);
}

function report(results, brokers, scenarios, bareNodeMb) {
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
  };
  const rows = scenarios.map(([id, label, higherBetter, version]) => {
    const stats = {};
    for (const b of brokers) {
      const vs = (results[id][b] ?? []).map((r) => r.value).filter((v) => Number.isFinite(v));
      stats[b] = vs.length ? { median: median(vs), min: Math.min(...vs), max: Math.max(...vs) } : undefined;
      // n/a: a peer without MQTT 5, or a broker that refused or broke every run of the scenario.
      const na = version === 5 ? (NO_V5[b] ?? (results[id][b] ?? []).find((r) => r.na)?.na) : undefined;
      if (!stats[b] && na) stats[b] = { na };
      const p99 = (results[id][b] ?? []).map((r) => r.p99).filter((v) => v !== undefined);
      if (p99.length && stats[b]) stats[b].p99 = median(p99);
      const lost = (results[id][b] ?? []).reduce((a, r) => a + (r.lost ?? 0), 0);
      if (stats[b]) stats[b].lost = lost;
      if (stats[b]) stats[b].saturated = (results[id][b] ?? []).some((r) => r.saturated);
      const cpuUs = (results[id][b] ?? []).map((r) => r.cpuUs).filter((v) => Number.isFinite(v));
      if (cpuUs.length && stats[b]) stats[b].cpuUs = median(cpuUs);
    }
    const ratio = (peer) => {
      const m = stats.midge?.median;
      const p = stats[peer]?.median;
      if (!m || !p) return undefined;
      return higherBetter ? m / p : p / m;
    };
    return { id, label, higherBetter, stats, ...Object.fromEntries(RATIOS.map(([peer, key]) => [key, ratio(peer)])) };
  });
  const ratios = RATIOS.filter(([peer]) => brokers.includes(peer));
  const cell = (s) => (s?.na ? `n/a (${s.na})` : s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})${s.p99 !== undefined ? ` p99 ${fmt(s.p99)}` : ''}${s.lost ? ` lost ${s.lost}` : ''}${s.saturated ? ' ⚠' : ''}` : '—');
  const lines = [
    `Benchmark of ${meta.date.slice(0, 10)} on ${meta.machine}; ${meta.mosquitto ?? 'no mosquitto'}.`,
    `Command: \`${meta.command}\`; median (min–max) of ${repeat} run${repeat > 1 ? 's' : ''}, each broker started fresh, broker on CPU 0, load on CPU 1.`,
    `Midge runs as \`node ${meta.midgeFlags} dist/broker.min.js\` (the linux-x64 launcher's flags). A bare \`node\` process listening on a socket: ${bareNodeMb ? `${fmt(bareNodeMb)} MB` : 'not measured'} RSS.`,
    ...(baseline ? [`Midge (baseline) is \`${baseline}\` (${statSync(baseline).size} bytes), run the same way: an older build, measured on the 3.1.1 scenarios only.`] : []),
    'Ratios: > 1 means Midge is ahead (Midge ÷ peer for rates; peer ÷ Midge for times, latency and memory). ⚠ = load generator saturated (figure is a floor). "MQTT 5" rows: the same load with v5 packets.',
    '',
    `| Scenario | ${brokers.map((b) => NAMES[b]).join(' | ')} | ${ratios.map(([, , h]) => h).join(' | ')} |`,
    `|---|${brokers.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.label} | ${brokers.map((b) => cell(r.stats[b])).join(' | ')} | ${ratios.map(([, k]) => (r[k] ? `${fmt(r[k])}×` : '—')).join(' | ')} |`),
  ];
  // Broker CPU time per message: what a message costs the broker, beside how many got through
  // (a busy machine inflates both, so compare within one run here too).
  const cpuRows = rows.filter((r) => brokers.some((b) => r.stats[b]?.cpuUs !== undefined));
  if (cpuRows.length) {
    lines.push('', 'Broker CPU time per message over the same windows (µs, median; lower is better):', '');
    lines.push(`| Scenario | ${brokers.map((b) => NAMES[b]).join(' | ')} |`, `|---|${brokers.map(() => '---:').join('|')}|`);
    for (const r of cpuRows) lines.push(`| ${r.label} | ${brokers.map((b) => (r.stats[b]?.cpuUs !== undefined ? fmt(r.stats[b].cpuUs) : '—')).join(' | ')} |`);
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
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify({ meta, rows, raw: results }, null, 2));
  writeFileSync(join(outDir, 'latest.svg'), svgChart(rows, meta));
  // A full run of every scenario is the one README.md quotes.
  if (!quick && !values.only && !values.out) {
    const readme = join(root, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf('<!-- bench:start -->');
    const end = text.indexOf('<!-- bench:end -->');
    if (start >= 0 && end > start) {
      writeFileSync(readme, `${text.slice(0, start)}<!-- bench:start -->\n${md}<!-- bench:end -->${text.slice(end + '<!-- bench:end -->'.length)}`);
    }
  }
  console.log(md);
  console.error(`bench: wrote ${join(outDir, 'latest.md')}, latest.json and latest.svg`);
}

await main();
