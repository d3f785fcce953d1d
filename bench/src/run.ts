// `npm run bench` (full) and `npm run bench -- --quick` (about two minutes): every ready subject
// of the registry through the same keystrokes; prints a table and writes bench/results/latest.json
// and latest.svg.
//
// Options: --quick; --trace FILE (repeatable: throughput on other sequential traces in the same
// format instead of the default three); --subjects id,id (a subset; the floor always runs);
// --figures throughput,latency,project (a subset of the figures; default all);
// --out DIR (default bench/results).

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureLatency, measureThroughput, type LatencyResult, type StartState, type Subject, type ThroughputResult } from './harness.js';
import { registry, type Mode } from './registry.js';
import { svgReport, textReport, type Results } from './report.js';
import { oldBuildTimes, oldJoinSeconds, type Transport } from './subjects/chorus.js';
import { measureProject, type ProjectResults } from './subjects/chorus-project.js';
import { keystrokeArray, loadTrace, textAfter, type Keystroke, type SequentialTrace } from './traces.js';
import { readOptions, stringOption } from './options.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const traceDir = join(here, '../../test/fixtures/traces');

interface Plan {
  /** Throughput runs: a trace file and how many of its keystrokes. */
  throughput: { file: string; limit: number }[];
  latencySeconds: number;
  rate: number;
  /** Keystrokes of automerge-paper history before the `old` document's measured keystrokes. */
  oldHistory: number;
  peers: number[];
  /** Seconds over which a daemon's CPU at idle is measured. */
  idleSeconds: number;
}

type Figure = 'throughput' | 'latency' | 'project';
const FIGURES: Figure[] = ['throughput', 'latency', 'project'];

function parseArgs(argv: string[]): { mode: Mode; traces: string[]; only?: Set<string>; figures: Set<Figure>; out: string } {
  const { values } = readOptions('usage: node bench/dist/run.js [options]  (or: npm run bench -- [options])', {
    quick: { type: 'boolean', help: '  a short run: the start of each trace' },
    full: { type: 'boolean', help: '  the whole traces (the default)' },
    trace: { type: 'string', multiple: true, help: 'FILE.json.gz  a trace of your own (more than once for several)' },
    subjects: { type: 'string', help: 'id,id  only these subjects' },
    figures: { type: 'string', help: `${FIGURES.join(',')}  only these figures (default all)` },
    out: { type: 'string', help: 'DIR  where the results go (default bench/results)' },
  }, { argv });
  let figures = new Set<Figure>(FIGURES);
  const asked = stringOption(values, 'figures');
  if (asked !== undefined) {
    const list = asked.split(',');
    const unknown = list.filter((f) => !(FIGURES as string[]).includes(f));
    if (unknown.length) {
      console.error(`unknown figure ${unknown.join(', ')}: choose from ${FIGURES.join(', ')}`);
      process.exit(2);
    }
    figures = new Set(list as Figure[]);
  }
  const subjects = stringOption(values, 'subjects');
  return {
    mode: values.quick === true ? 'quick' : 'full',
    traces: (values.trace as string[] | undefined) ?? [],
    only: subjects === undefined ? undefined : new Set(subjects.split(',')),
    figures,
    out: stringOption(values, 'out', join(here, '../results')),
  };
}

function plan(mode: Mode, traces: string[]): Plan {
  const t = (n: string): string => join(traceDir, `${n}.json.gz`);
  const custom = traces.map((file) => ({ file, limit: mode === 'quick' ? 20_000 : Infinity }));
  if (mode === 'quick') {
    return {
      throughput: custom.length ? custom : [
        { file: t('automerge-paper'), limit: 6_000 },
        { file: t('sveltecomponent'), limit: 6_000 },
        { file: t('rustcode'), limit: 5_000 },
      ],
      latencySeconds: 3, rate: 30, oldHistory: 250_000, peers: [2, 8], idleSeconds: 5,
    };
  }
  return {
    throughput: custom.length ? custom : ['automerge-paper', 'sveltecomponent', 'rustcode'].map((n) => ({ file: t(n), limit: Infinity })),
    latencySeconds: 20, rate: 30, oldHistory: 250_000, peers: [2, 8], idleSeconds: 10,
  };
}

function machine(loadAtStart: number): Results['machine'] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
  };
}

/** A run's rate over its first profile window boundary at or past `n` keystrokes. */
function rateOverPrefix(r: ThroughputResult, n: number): number {
  let ms = 0, prev = 0;
  for (const p of r.profile) {
    ms += p.msPerKeystroke * (p.keystrokes - prev);
    prev = p.keystrokes;
    if (p.keystrokes >= n) break;
  }
  return ms > 0 ? prev / (ms / 1000) : r.keystrokesPerSecond;
}

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const p = plan(args.mode, args.traces);
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0]!;
  const ready = registry.filter((e) => e.status === 'ready' && (e.floor || !args.only || args.only.has(e.id)));
  const floorEntry = registry.find((e) => e.status === 'ready' && e.floor)!;
  const subjects: Subject[] = ready.map((e) => (e.status === 'ready' ? e.subject(args.mode) : undefined)).filter((s): s is Subject => !!s);
  const errors: Results['errors'] = [];
  const throughput: ThroughputResult[] = [];
  const latency: LatencyResult[] = [];
  const tracesOut: Results['traces'] = [];

  // Throughput: each trace from its start content, 2 peers.
  for (const { file, limit } of args.figures.has('throughput') ? p.throughput : []) {
    const trace = loadTrace(file);
    const keys = keystrokeArray(trace);
    tracesOut.push({ name: trace.name, file, keystrokes: keys.length, endChars: trace.endContent.length });
    const use = keys.slice(0, limit);
    const expected = (n: number): string => textAfter(trace, n);
    const start: StartState = { label: 'young', trace, history: [], text: trace.startContent };
    for (const s of subjects) {
      log(`throughput: ${s.name} on ${trace.name} (${use.length} keystrokes)…`);
      try {
        const r = await measureThroughput(s, start, use, expected, 2);
        log(`  ${Math.round(r.keystrokesPerSecond)} keystrokes/s over ${r.keystrokes} in ${r.seconds.toFixed(1)} s${r.verified ? '' : ' — WRONG TEXT'}`);
        throughput.push(r);
      } catch (e) {
        log(`  failed: ${String(e)}`);
        errors.push({ subject: s.id, figure: `throughput ${trace.name}`, message: String(e) });
      }
    }
  }

  // Latency: automerge-paper, young (from empty) and old (after oldHistory keystrokes).
  const paper = loadTrace(join(traceDir, 'automerge-paper.json.gz'));
  const paperKeys = keystrokeArray(paper);
  const measured = Math.ceil(p.latencySeconds * p.rate) + 10;
  const starts: { start: StartState; keys: Keystroke[] }[] = [
    { start: { label: 'young', trace: paper, history: [], text: paper.startContent }, keys: paperKeys.slice(0, measured) },
    {
      start: { label: 'old', trace: paper, history: paperKeys.slice(0, p.oldHistory), text: textAfter(paper, p.oldHistory) },
      keys: paperKeys.slice(p.oldHistory, p.oldHistory + measured),
    },
  ];
  for (const { start, keys } of args.figures.has('latency') ? starts : []) {
    for (const peers of p.peers) {
      for (const s of subjects) {
        if (peers > s.maxPeers) continue;
        log(`latency: ${s.name}, ${start.label} document (${start.history.length} keystrokes of history), ${peers} peers…`);
        const skip = s.skipLatency?.({ peers, start });
        if (skip) {
          log(`  skipped: ${skip}`);
          latency.push({
            subject: s.id, document: start.label, historyKeystrokes: start.history.length, peers, rate: p.rate,
            typed: 0, samples: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, verified: false, skipped: true, note: `skipped: ${skip}`,
          });
          continue;
        }
        try {
          const r = await measureLatency(s, start, keys, { peers, rate: p.rate, seconds: p.latencySeconds });
          log(`  p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms over ${r.samples} samples${r.note ? ` (${r.note})` : ''}`);
          latency.push(r);
        } catch (e) {
          log(`  failed: ${String(e)}`);
          errors.push({ subject: s.id, figure: `latency ${start.label}/${peers}`, message: String(e) });
        }
      }
    }
  }

  // Chorus only: join, restart, memory and CPU at idle on a generated 1,000-file / 20 MB project.
  const project: ProjectResults = { join: [], restart: [], memory: [], idleCpu: [] };
  for (const s of args.figures.has('project') ? subjects : []) {
    const m = /^chorus-(websocket|webrtc)$/.exec(s.id);
    if (!m) continue;
    const t = m[1] as Transport;
    if (args.mode === 'quick' && t === 'webrtc') {
      log(`project: ${s.name} — left out of --quick (the full run measures it)`);
      continue;
    }
    log(`project: ${s.name}, 1,000 files / 20 MB: join, idle CPU (${p.idleSeconds} s), restarts…`);
    try {
      const r = await measureProject(t, { idleSeconds: p.idleSeconds, log });
      for (const k of ['join', 'restart', 'memory', 'idleCpu'] as const) (project[k] as unknown[]).push(...r[k]);
    } catch (e) {
      log(`  failed: ${String(e)}`);
      errors.push({ subject: s.id, figure: 'project join/restart/idle', message: String(e) });
    }
  }
  // Peak RSS of the daemons over the throughput and latency runs, too.
  for (const s of subjects.filter((x) => x.id.startsWith('chorus-'))) {
    for (const r of [...throughput, ...latency].filter((x) => x.subject === s.id && x.peakRss)) {
      for (const [proc, b] of Object.entries(r.peakRss!)) {
        const when = 'trace' in r ? `throughput, ${r.trace}` : `latency, ${r.document} doc, ${r.peers} peers`;
        const prev = project.memory.find((x) => x.subject === s.id && x.process === proc && x.when.startsWith('peak over'));
        if (!prev) project.memory.push({ subject: s.id, process: proc, peakRss: b, when: `peak over the trace runs (${when})` });
        else if (b > prev.peakRss) { prev.peakRss = b; prev.when = `peak over the trace runs (${when})`; }
      }
    }
  }

  // Ratios to the floor of this run.
  for (const r of throughput) {
    const f = throughput.find((x) => x.subject === floorEntry.id && x.trace === r.trace);
    if (f) r.ratioToFloor = r.keystrokesPerSecond / (r.truncated ? rateOverPrefix(f, r.keystrokes) : f.keystrokesPerSecond);
  }
  for (const r of latency) {
    const f = latency.find((x) => x.subject === floorEntry.id && x.document === r.document && x.peers === r.peers);
    if (f) r.ratioToFloor = { p50: r.p50Ms / f.p50Ms, p99: r.p99Ms / f.p99Ms, max: r.maxMs / f.maxMs };
  }

  const results: Results = {
    schema: 'chorus-bench/1',
    mode: args.mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(loadAtStart),
    floor: floorEntry.id,
    subjects: registry.map((e) => {
      if (e.status === 'pending') return { id: e.id, name: e.name, status: e.status, reason: e.reason };
      const s = subjects.find((x) => x.id === e.id);
      return { id: e.id, name: s?.name ?? e.name, description: s?.description, status: e.status };
    }),
    traces: tracesOut,
    throughput,
    latency,
    join: project.join,
    restart: project.restart,
    memory: project.memory,
    idleCpu: project.idleCpu,
    chorusSetup: {
      oldDocument: oldBuildTimes(),
      oldDocumentJoinSeconds: Object.fromEntries(oldJoinSeconds),
    },
    errors,
  };
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(args.out, 'latest.svg'), svgReport(results));
  console.log(textReport(results));
  console.log(`\nwrote ${join(args.out, 'latest.json')} and latest.svg`);
  const wrong = throughput.some((r) => !r.verified) || latency.some((r) => !r.verified && !r.note) || project.join.some((j) => !j.verified);
  process.exitCode = errors.length || wrong ? 1 : 0;
}

await main();
process.exit();
