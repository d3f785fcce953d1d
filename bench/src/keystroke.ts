// `npm run bench:keystroke` (about 12 minutes; `--peers 2` about 4): what one keystroke costs each Chorus daemon in
// CPU time, next to what it costs raw Automerge 2.2.9 in the same run, with keystroke-to-editor
// latency at 30 keystrokes/s and the daemons' CPU at idle afterwards.
//
// - The floor: in this process, paced at 30/s like the daemons, one character per change — `change` with `splice` and
//   `getLastLocalChange` on one document (the typing side), `applyChanges` on another (the
//   receiving side) — over the first keystrokes of automerge-paper, after a warm-up pass; CPU time
//   from `process.cpuUsage()`. Its per-keystroke cost is typing side + receiving side.
// - Chorus over WebSocket: real daemons (`chorus share` / `chorus join`, loopback, --no-webrtc), a
//   scripted editor on each; keystrokes typed at 30/s into an empty file; each daemon's utime +
//   stime from /proc/PID/stat over the run divided by the keystrokes (see `measureLatency`).
// - The socket floor, for each peer count: Node processes that only move each keystroke over the
//   same sockets (an editor's Unix socket, a loopback WebSocket to each other process, the other
//   editors' Unix sockets; no CRDT, encryption, storage or disk), typed the same way and measured
//   the same way: what a process per person linked by sockets costs before any of Chorus's own
//   work; with 8, what sending each keystroke to 7 processes costs by itself.
// - The CRDT floor, for each peer count: the socket floor's processes also making the floor's
//   Automerge change on the typing side and applying it on the receiving side (patches to the
//   editor): the least keystroke-to-editor latency a daemon per person that keeps the text in
//   Automerge can have on this machine, with none of Chorus's encryption, checks, storage, undo
//   or disk. Chorus's latency is given against it too.
// - The machine: 1-minute load average and how busy all cores were during the run (/proc/stat),
//   because the machine may be shared; the ratios within one run are what to compare.
//
// Options: `--help` lists them (--quick, --peers, --keys, --warmup, --settle, --rate, --trace, --out).
// CHORUS_BENCH_CLI=path/to/cli.js runs another build's daemons. Writes DIR/keystroke-latest.json (default bench/results).
// CHORUS_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemons. `--trace` has the daemons
// record their trace points (daemon/src/trace-points.ts) and prints where a keystroke's time goes.

import * as A2 from '@automerge/automerge';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureLatency, observable, type LatencyResult } from './harness.js';
import { chorusSubject } from './subjects/chorus.js';
import { crdtFloor, socketFloor } from './subjects/socket-floor.js';
import { keystrokeArray, loadTrace, type Keystroke } from './traces.js';
import { numberOption, readOptions, stringOption } from './options.js';
import { formatTraceTable, traceTable, type TraceTable } from './trace-table.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/**
 * Keystrokes typed (as fast as the daemons take them) before the measured ones: V8 compiles the
 * hot JavaScript and WebAssembly in background threads during a process's first minutes of work,
 * a cost paid once per process that would otherwise be charged to the measured keystrokes. After
 * 2,000, V8 still finished ~18 optimisations in the measured 20 s (9–13 % of a daemon's CPU under
 * `perf`); after 5,000, ~7 (bench-method.md).
 */
const WARMUP_DEFAULT = 5000;
/**
 * Seconds of keystrokes typed at the measured rate, unmeasured, after the warm-up and before the
 * clock starts: what V8 tiers up only once keystrokes come paced. Off by default: the Automerge
 * floor measured after it was 0.45–0.89 ms against 0.33–0.62 without, so the ratios moved with the
 * floor, not the daemons (bench-method.md).
 */
const SETTLE_DEFAULT = 0;
/** Keystrokes of automerge-paper the run uses: warm-up, settling and measured ones come from its start. */
const TRACE_KEYS = 10_000;
const am = A2.next;

/** Raw Automerge 2.2.9 CPU per keystroke, ms: the typing side, the receiving side, and their sum. */
export interface FloorCpu { typing: number; receiving: number; total: number; keystrokes: number; rate?: number }

/**
 * Raw Automerge 2.2.9, one character per change: `change` + `splice` + `getLastLocalChange` on one
 * document, `applyChanges` on another, CPU time from `process.cpuUsage()` around each side. With
 * `rate`, keystrokes are paced like the daemons' (a timer between them): that is the floor the
 * daemons are compared with, because a tight loop keeps caches and branch predictors hot and
 * gets several times cheaper the longer it runs (0.5 → 0.03 ms on the 2-core machine), which no
 * keystroke arriving every 33 ms enjoys. Without `rate`: the tight loop, for the record.
 * With `sameDocument`, `keys` are typed into the warmed-up documents (they must continue
 * `warmup` + `settle`), as the daemons' measured keystrokes continue their warm-up's document;
 * otherwise into a fresh pair (the method until stop 26).
 */
export async function floorCpu(keys: Keystroke[], rate?: number, warmup: Keystroke[] | false = keys, settle: Keystroke[] = [], sameDocument = false, initial = ''): Promise<FloorCpu> {
  let a = am.from({ text: initial });
  let b = am.clone(a);
  // warm-up: one keystroke each side (JIT of the JS wrapper, the wasm instance), as the daemons get
  a = am.change(a, (d) => am.splice(d, ['text'], 0, 0, 'x'));
  b = am.applyChanges(b, [am.getLastLocalChange(a)!])[0];
  a = am.change(a, (d) => am.splice(d, ['text'], 0, 1, ''));
  b = am.applyChanges(b, [am.getLastLocalChange(a)!])[0];
  let typing = 0, receiving = 0;
  // warm-up as for the daemons (see measureLatency): as many keystrokes as they get, unmeasured,
  // on a separate pair of documents, so the hot code is compiled before the clock runs
  if (warmup) {
    let wa = am.clone(a);
    let wb = am.clone(b);
    // the warm-up in a tight loop, then settling as for the daemons: at the rate; unmeasured
    for (const [ks, paced] of [[warmup, false], [settle, true]] as const) {
      for (const k of ks) {
        wa = am.change(wa, (d) => am.splice(d, ['text'], k.pos, k.del, k.insert));
        wb = am.applyChanges(wb, [am.getLastLocalChange(wa)!])[0];
        if (paced && rate) await new Promise((r) => setTimeout(r, 1000 / rate));
      }
    }
    if (sameDocument) {
      // `keys` continue the warmed documents: measured on a document as long as the daemons' is
      am.free(a);
      am.free(b);
      a = wa;
      b = wb;
    } else {
      am.free(wa);
      am.free(wb);
    }
  }
  for (const k of keys) {
    const t0 = process.cpuUsage();
    a = am.change(a, (d) => am.splice(d, ['text'], k.pos, k.del, k.insert));
    const change = am.getLastLocalChange(a)!;
    const t1 = process.cpuUsage(t0);
    const r0 = process.cpuUsage();
    b = am.applyChanges(b, [change])[0];
    const r1 = process.cpuUsage(r0);
    typing += t1.user + t1.system;
    receiving += r1.user + r1.system;
    if (rate) await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  if (b.text !== a.text) throw new Error('floor: the receiving document differs from the typing one');
  const ms = (us: number): number => us / 1000 / keys.length;
  return { typing: ms(typing), receiving: ms(receiving), total: ms(typing + receiving), keystrokes: keys.length, ...(rate ? { rate } : {}) };
}

/** Busy and total jiffies of all cores (/proc/stat), to say how loaded the machine was. */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface KeystrokeRun {
  peers: number;
  latency: LatencyResult;
  /** Daemon CPU per keystroke divided by the floor (mean of the paced passes before and after). */
  ratio: { sender: number; receiver: number; receiverMax: number };
  /** With --trace: where the measured keystrokes' time went, point by point (trace-table.ts). */
  trace?: TraceTable;
}

/**
 * The start text for `--prefill chars`: `content` put in the middle of `chars` characters of
 * source-like ASCII lines (a large file someone types into), and where `content` starts, to shift
 * the trace's keystrokes by. Deterministic, so every subject and floor starts from the same text.
 */
function prefilled(content: string, chars: number): { text: string; at: number } {
  if (chars <= 0) return { text: content, at: 0 };
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const line = `  const value${i} = compute(${i}, 'filler line ${i % 97}'); // a large file\n`;
    lines.push(line);
    length += line.length;
  }
  const filler = lines.join('').slice(0, chars);
  const half = filler.lastIndexOf('\n', chars >> 1) + 1;
  return { text: filler.slice(0, half) + content + filler.slice(half), at: half };
}

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/keystroke.js [options]  (or: npm run bench:keystroke -- [options])', {
    quick: { type: 'boolean', help: '  2 peers 600 keystrokes, 8 peers 300, 5 s idle (default: 600 each, 10 s idle)' },
    peers: { type: 'string', help: 'N,N  how many peers, one run each (default 2,8)' },
    keys: { type: 'string', help: 'N  keystrokes measured per run (default 600)' },
    warmup: { type: 'string', help: `N  keystrokes typed one at a time before the clock starts (default ${WARMUP_DEFAULT}; see docs/decisions/bench-method.md)` },
    settle: { type: 'string', help: `S  then seconds of keystrokes typed at the rate, unmeasured (default ${SETTLE_DEFAULT}: none; an experiment, see bench-method.md)` },
    rate: { type: 'string', help: 'R  keystrokes per second, for the daemons and every floor (default 30; another rate is an experiment, see bench-method.md)' },
    trace: { type: 'boolean', help: '  the daemons record their trace points; prints where a keystroke\'s time goes, stage by stage' },
    prefill: { type: 'string', help: 'CHARS  the file starts with this many characters of source-like lines and the keystrokes go into its middle (default 0: an empty file); the floors start from the same text' },
    out: { type: 'string', help: 'DIR  where keystroke-latest.json goes (default bench/results)' },
  });
  const trace = values.trace === true;
  const quick = values.quick === true;
  const peersList = (stringOption(values, 'peers') ?? '2,8').split(',').map(Number);
  if (peersList.some((n) => !Number.isInteger(n) || n < 2)) {
    process.stderr.write(`--peers ${String(values.peers)}: give peer counts of at least 2, separated by commas (e.g. 2,8)\n`);
    process.exit(2);
  }
  const keysOpt = values.keys === undefined ? undefined : numberOption(values, 'keys', 600, 1);
  const warmup = numberOption(values, 'warmup', WARMUP_DEFAULT);
  const settleSeconds = numberOption(values, 'settle', SETTLE_DEFAULT);
  const out = stringOption(values, 'out', join(here, '../results'));
  const rate = numberOption(values, 'rate', 30, 1);
  const idleSeconds = quick ? 5 : 10;
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  /** Keystrokes measured with `peers` daemons (and for the socket floor, 2). */
  const keysFor = (peers: number): number => keysOpt ?? (quick && peers > 2 ? 300 : 600);
  const keysAtMost = Math.max(...peersList.map(keysFor));
  const settle = Math.round(settleSeconds * rate);
  if (!Number.isInteger(warmup) || warmup < 0 || warmup + settle + keysAtMost + 10 > TRACE_KEYS) {
    log(`--warmup ${warmup} --settle ${settleSeconds}: the run takes its keystrokes from the first ${TRACE_KEYS} of automerge-paper, so the warm-up, the ${settle} settling keystrokes and the ${keysAtMost} measured (plus 10) must fit in them; use --warmup ${Math.max(0, TRACE_KEYS - settle - keysAtMost - 10)} or less`);
    process.exit(2);
  }

  const prefill = numberOption(values, 'prefill', 0);
  const paper = loadTrace(join(here, '../../test/fixtures/traces/automerge-paper.json.gz'));
  const { text: startText, at: typedAt } = prefilled(paper.startContent, prefill);
  const keys = observable(keystrokeArray(paper).slice(0, TRACE_KEYS).map((k) => (typedAt ? { ...k, pos: k.pos + typedAt } : k)));
  const load0 = os.loadavg()[0]!;
  const busy0 = cpuTimes();

  log(`floor: raw Automerge 2.2.9, one character per change, 300 keystrokes at ${rate}/s…`);
  const floorWarmup = keys.slice(0, Math.max(300, warmup));
  const floorSettle = keys.slice(floorWarmup.length, floorWarmup.length + settle);
  const floorBefore = await floorCpu(keys.slice(0, 300), rate, floorWarmup, floorSettle, false, startText);
  const floorTight = await floorCpu(keys.slice(0, 600), undefined, keys.slice(0, 600), [], false, startText);

  const runs: KeystrokeRun[] = [];
  const subject = chorusSubject('websocket', quick ? 'quick' : 'full');
  for (const peers of peersList) {
    const n = keysFor(peers);
    log(`Chorus over WebSocket, ${peers} peers: ${n} keystrokes at ${rate}/s into ${prefill ? `the middle of a ${startText.length}-character file` : 'an empty file'}…`);
    const start = { label: 'young', trace: paper, history: [], text: startText };
    // Read by the daemons at start (node-platform.ts); they write their files as they exit.
    const traceDir = trace ? mkdtempSync(join(os.tmpdir(), 'chorus-trace-')) : undefined;
    if (traceDir) process.env.CHORUS_TRACE_DIR = traceDir;
    let lat: LatencyResult, table: TraceTable | undefined;
    try {
      lat = await measureLatency(subject, start, keys.slice(0, warmup + settle + n + 10), { peers, rate, seconds: n / rate, idleSeconds, warmup, settle });
      table = traceDir ? traceTable(traceDir, n, rate) : undefined;
    } finally {
      delete process.env.CHORUS_TRACE_DIR;
      if (traceDir) rmSync(traceDir, { recursive: true, force: true });
    }
    const c = lat.cpuPerKeystrokeMs!;
    runs.push({ peers, latency: lat, ratio: { sender: c.sender, receiver: c.receiver, receiverMax: c.receiverMax }, ...(table ? { trace: table } : {}) });
    if (table) log(formatTraceTable(table));
    log(`  cpu/keystroke sender ${c.sender.toFixed(2)} ms, receiver ${c.receiver.toFixed(2)} ms (max ${c.receiverMax.toFixed(2)}); p50 ${lat.p50Ms.toFixed(2)} / p99 ${lat.p99Ms.toFixed(2)} ms; idle ${lat.idleCpuPercent?.sender.toFixed(2)}% / ${lat.idleCpuPercent?.receiver.toFixed(2)}%`);
  }
  // The socket floor and the CRDT floor with as many processes as each Chorus run had peers: with
  // 8, one process sends each keystroke to 7 others, so they show what the fan-out alone costs.
  const socketRuns: Record<number, LatencyResult> = {};
  const crdtRuns: Record<number, LatencyResult> = {};
  for (const [floorSubject, into, label] of [[socketFloor, socketRuns, 'socket floor'], [crdtFloor, crdtRuns, 'CRDT floor']] as const) {
    for (const peers of peersList) {
      const n = keysFor(peers);
      log(`${label}, ${peers} processes: ${n} keystrokes at ${rate}/s…`);
      const start = { label: 'young', trace: paper, history: [], text: startText };
      const run = await measureLatency(floorSubject, start, keys.slice(0, warmup + settle + n + 10), { peers, rate, seconds: n / rate, warmup, settle });
      into[peers] = run;
      const c = run.cpuPerKeystrokeMs!;
      log(`  cpu/keystroke sender ${c.sender.toFixed(2)} ms, receiver ${c.receiver.toFixed(2)} ms; p50 ${run.p50Ms.toFixed(2)} / p99 ${run.p99Ms.toFixed(2)} ms`);
    }
  }
  const sockets: LatencyResult | undefined = socketRuns[2];
  log(`floor again (the machine may have changed meanwhile)…`);
  const floorAfter = await floorCpu(keys.slice(0, 300), rate, floorWarmup, floorSettle, false, startText);
  // The floor on the document the daemons typed into: the same keystrokes, after the same ones.
  const typedBefore = keys.slice(0, warmup + settle);
  const sameKeys = keys.slice(warmup + settle, warmup + settle + 300);
  log(`floor on a document as long as the daemons' (${typedBefore.length} keystrokes before), before and after…`);
  const sameA = await floorCpu(sameKeys, rate, typedBefore, [], true, startText);
  const sameB = await floorCpu(sameKeys, rate, typedBefore, [], true, startText);
  const floorSame = (sameA.total + sameB.total) / 2;
  const busy1 = cpuTimes();
  // the floor for the ratios: the mean of the passes before and after the daemons ran
  const floor = (floorBefore.total + floorAfter.total) / 2;
  for (const r of runs) for (const k of ['sender', 'receiver', 'receiverMax'] as const) r.ratio[k] /= floor;
  const machineBusy = (busy1.busy - busy0.busy) / Math.max(1, busy1.total - busy0.total);

  const result = {
    schema: 'chorus-bench-keystroke/1',
    quick,
    /** Keystrokes typed one at a time before the measured ones (each daemon, and the floor). */
    warmup,
    /** Then keystrokes typed at the rate, unmeasured (each daemon, the socket floor and the floor). */
    settle,
    /** Keystrokes per second while measured (and while settling), for the daemons and both floors. */
    rate,
    /** Characters the file (and every floor's document) held before the first keystroke; the keystrokes went into its middle. */
    prefill: startText.length,
    /** Did the daemons record trace points (--trace)? Their CPU figures then include the recording. */
    traced: trace,
    at: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      loadAverage: { start: load0, end: os.loadavg()[0]! },
      /** Share of all cores busy over the whole run (this bench, its daemons and anything else). */
      busyShare: machineBusy,
    },
    floor: { msPerKeystroke: floor, before: floorBefore, after: floorAfter, tightLoop: floorTight },
    /**
     * The floor typed into a document as long as the daemons' when measured (their warm-up's
     * keystrokes first), two passes at the end of the run; `ratios` divide the daemons' CPU by it.
     */
    floorSameDocument: { msPerKeystroke: floorSame, passes: [sameA, sameB], ratios: runs.map((r) => ({ peers: r.peers, sender: r.latency.cpuPerKeystrokeMs!.sender / floorSame, receiver: r.latency.cpuPerKeystrokeMs!.receiver / floorSame, receiverMax: r.latency.cpuPerKeystrokeMs!.receiverMax / floorSame })) },
    /** The socket floor's run (2 peers): CPU per keystroke of each relay process and its latency. */
    sockets,
    /** The socket floor's run for each peer count of `runs` (keyed by peers). */
    socketRuns,
    /** The CRDT floor's run for each peer count of `runs` (keyed by peers): the socket floor plus the Automerge floor's calls. */
    crdtRuns,
    runs,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'keystroke-latest.json'), JSON.stringify(result, null, 2) + '\n');

  const f2 = (x: number): string => x.toFixed(2);
  console.log(`Chorus keystroke cost, ${result.at} (${quick ? 'quick' : 'full'}, ${rate} keystrokes/s)`);
  console.log(`machine: ${result.machine.cpu}, ${result.machine.cores} cores, node ${process.version}; load average ${f2(load0)} → ${f2(result.machine.loadAverage.end)}; all cores ${(machineBusy * 100).toFixed(0)}% busy over the run`);
  console.log(`floor (raw Automerge 2.2.9, one char per change at ${rate}/s): ${f2(floor)} ms/keystroke = mean of ${f2(floorBefore.total)} before the daemons ran (typing ${f2(floorBefore.typing)} + receiving ${f2(floorBefore.receiving)}) and ${f2(floorAfter.total)} after; in a tight loop: ${f2(floorTight.total)}`);
  console.log(`floor on a document as long as the daemons' (${warmup + settle} keystrokes typed first): ${f2(floorSame)} ms/keystroke (${f2(sameA.total)}, ${f2(sameB.total)}); the daemons against it: ${result.floorSameDocument.ratios.map((r) => `${r.peers} peers ${f2(r.sender)}× / ${f2(r.receiver)}×`).join(', ')}`);
  console.log('peers  keystrokes  CPU/keystroke typing daemon  receiving daemon (mean / max)  latency p50 / p99 / max ms  idle CPU typing / receiving');
  for (const r of runs) {
    const c = r.latency.cpuPerKeystrokeMs!;
    const i = r.latency.idleCpuPercent;
    console.log(`${String(r.peers).padStart(5)}  ${String(r.latency.typed).padStart(10)}  ${`${f2(c.sender)} ms (${f2(r.ratio.sender)}×)`.padStart(27)}  ${`${f2(c.receiver)} / ${f2(c.receiverMax)} ms (${f2(r.ratio.receiver)}×)`.padStart(29)}  ${`${f2(r.latency.p50Ms)} / ${f2(r.latency.p99Ms)} / ${f2(r.latency.maxMs)}`.padStart(26)}  ${i ? `${f2(i.sender)}% / ${f2(i.receiver)}%` : '—'}${r.latency.verified ? '' : '  WRONG TEXT'}${r.latency.note ? `  (${r.latency.note})` : ''}`);
  }
  for (const [peers, run] of Object.entries(socketRuns)) {
    const c = run.cpuPerKeystrokeMs!;
    console.log(`socket floor (${peers} Node processes only relaying over the same sockets, no CRDT): ${f2(c.sender)} ms typing side, ${f2(c.receiver)} ms receiving side per keystroke (${f2(c.sender / floor)}× / ${f2(c.receiver / floor)}× the Automerge floor); latency p50 / p99 / max ${f2(run.p50Ms)} / ${f2(run.p99Ms)} / ${f2(run.maxMs)} ms${run.verified ? '' : '  WRONG TEXT'}`);
  }
  for (const [peers, run] of Object.entries(crdtRuns)) {
    const c = run.cpuPerKeystrokeMs!;
    const chorus = runs.find((r) => r.peers === Number(peers))?.latency;
    console.log(`CRDT floor (${peers} such processes, also making and applying the Automerge floor's change): ${f2(c.sender)} ms typing side, ${f2(c.receiver)} ms receiving side per keystroke; latency p50 / p99 / max ${f2(run.p50Ms)} / ${f2(run.p99Ms)} / ${f2(run.maxMs)} ms${chorus ? `; Chorus's p50 / p99 against it ${f2(chorus.p50Ms / run.p50Ms)}× / ${f2(chorus.p99Ms / run.p99Ms)}×` : ''}${run.verified ? '' : '  WRONG TEXT'}`);
  }
  process.exitCode = runs.every((r) => r.latency.verified) && [...Object.values(socketRuns), ...Object.values(crdtRuns)].every((r) => r.verified) ? 0 : 1;
}

await main();
process.exit();
