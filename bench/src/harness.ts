// The measurement side of the benchmark: what every system under test implements (`Subject`),
// and the code that drives one through a trace and turns timestamps into figures. Subjects know
// nothing about timing; the harness knows nothing about CRDTs or sockets.

import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { applyKeystroke, type Keystroke, type SequentialTrace } from './traces.js';

/** The document a session starts from: the state after the first `history.length` keystrokes of `trace`. */

/**
 * For an outside profiler (`perf record -p`, `strace -p`): with CHORUS_BENCH_PHASE_FILE set, a
 * line is appended there when the measured typing starts ("measuring SUBJECT PID,PID…") and when
 * it ends ("measured SUBJECT"), so a script can sample only that part of a daemon's life.
 */
function markPhase(line: string): void {
  const file = process.env.CHORUS_BENCH_PHASE_FILE;
  if (file) appendFileSync(file, `${line}\n`);
}

export interface StartState {
  /** A short name for reports: `young` (the trace's startContent) or `old` (a long history). */
  label: string;
  trace: SequentialTrace;
  /**
   * The keystrokes already made, each one its own change (so an `old` document carries the
   * whole history, as a real long-lived document does). Empty for a young document.
   */
  history: Keystroke[];
  /** The text after `history`, applied to `trace.startContent`. */
  text: string;
}

export interface SetupOptions {
  /**
   * Replicas in the session, the typist's included: 2 = one sender and one receiver; 8 = one
   * sender and seven receivers. A relay or sync server is not a peer.
   */
  peers: number;
  start: StartState;
}

/** One running session of a subject: a sender that types and `peers - 1` receivers that watch. */
export interface Session {
  /**
   * Types one keystroke on the sender (offsets in UTF-16 against the sender's current text). A
   * subject whose transport pushes back may return a promise; the harness awaits it.
   */
  type(k: Keystroke): void | Promise<void>;
  /**
   * Registers the one function to call whenever keystrokes arrive at a receiver, with the
   * receiver's index (0-based) and how many of the keystrokes typed in this session it has now
   * applied. Call it as soon as the receiver (for Chorus: the receiving editor) has them; a
   * subject that sees only text can count with `ArrivalCounter`.
   */
  onArrival(cb: (receiver: number, count: number) => void): void;
  /** The receiver's current text (for checking; never timed). */
  text(receiver: number): string | Promise<string>;
  /** Peak resident set size of each process this session started, bytes; empty when all in-process. */
  peakRss(): Promise<Record<string, number>>;
  /**
   * Process ids of the sender's and each receiver's process, for subjects that run processes of
   * their own (Chorus daemons): the latency run then reads their CPU time from /proc.
   */
  processes?(): { sender: number; receivers: number[] };
  close(): Promise<void>;
}

/** A system under test. */
export interface Subject {
  /** Stable id used in results JSON, e.g. `automerge-2.2.9`. */
  id: string;
  /** Name for the table. */
  name: string;
  /** One sentence: what path a keystroke takes. */
  description: string;
  /** The largest `peers` it supports. */
  maxPeers: number;
  /**
   * Seconds after which a throughput run stops typing and reports the rate so far (for subjects
   * too slow to finish a long trace, like Automerge 3.x). Undefined: run the whole trace.
   */
  throughputBudgetSeconds?: number;
  /** Starts a session: the sender and `peers - 1` receivers, all holding `start`. */
  setup(opts: SetupOptions): Promise<Session>;
  /**
   * Why this subject sits out a latency case (its setup would take too long for the run, say),
   * or undefined to measure it. The case is reported as skipped, with the reason.
   */
  skipLatency?(opts: SetupOptions): string | undefined;
}

// ---------------------------------------------------------------------------------------------
// Counting arrivals for subjects that only see text

/**
 * For a subject whose receiver sees text but not which keystrokes it holds (an editor receiving
 * `buffer/didChange`): tells how many of the typed keystrokes a receiver's text reflects, by
 * comparing it with the sender's text after each keystroke still in flight.
 */
export class ArrivalCounter {
  private expected: string[] = [];
  private base = 0;
  private arrived: number[];

  constructor(receivers: number, private text: string) {
    this.arrived = new Array<number>(receivers).fill(0);
  }

  /** Call when the sender types `k`. */
  typed(k: Keystroke): void {
    this.text = applyKeystroke(this.text, k);
    this.expected.push(this.text);
  }

  /** Call with a receiver's new text; returns its arrival count (unchanged when nothing matches). */
  seen(receiver: number, text: string): number {
    // The latest match among keystrokes it does not have yet. A text can repeat (a typo and its
    // backspace) but only texts after its last arrival are candidates, so that rarely misleads;
    // taking the earliest instead could leave a receiver that jumped ahead counted short forever.
    for (let j = this.expected.length - 1; j >= Math.max(0, this.arrived[receiver]! - this.base); j--) {
      if (this.expected[j] === text) {
        this.arrived[receiver] = this.base + j + 1;
        this.trim();
        break;
      }
    }
    return this.arrived[receiver]!;
  }

  private trim(): void {
    const min = Math.min(...this.arrived);
    if (min - this.base > 64) {
      this.expected.splice(0, min - this.base - 1);
      this.base = min - 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface ProfilePoint {
  /** Keystrokes applied at the receiver when this window ended. */
  keystrokes: number;
  /** Length of the text then, UTF-16 units. */
  chars: number;
  /** Mean cost of one keystroke over the window, from typing to arrival, ms. */
  msPerKeystroke: number;
}

export interface ThroughputResult {
  subject: string;
  trace: string;
  peers: number;
  /** Keystrokes typed and arrived (the whole trace unless `truncated`). */
  keystrokes: number;
  /** Keystrokes in the whole trace. */
  traceKeystrokes: number;
  seconds: number;
  keystrokesPerSecond: number;
  /** True when every receiver's text equalled the expected text (endContent for a whole trace). */
  verified: boolean;
  /** Set when the run stopped at the subject's time budget. */
  truncated?: { budgetSeconds: number };
  /** How per-keystroke cost grows with the document (about 20 windows; 128-keystroke windows when budgeted). */
  profile: ProfilePoint[];
  /** Peak RSS of processes the subject started, bytes. */
  peakRss?: Record<string, number>;
  /**
   * Throughput divided by the raw floor's on the same trace in this run; for a truncated run, by
   * the floor's rate over (about) the same first keystrokes, read from its profile.
   */
  ratioToFloor?: number;
}

export interface LatencyResult {
  subject: string;
  /** `young` or `old` (see StartState). */
  document: string;
  /** Keystrokes of history before the measured ones. */
  historyKeystrokes: number;
  peers: number;
  /** Keystrokes per second the typist keeps to. */
  rate: number;
  /** Keystrokes typed. */
  typed: number;
  /** Arrival samples (typed × receivers). */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  verified: boolean;
  peakRss?: Record<string, number>;
  /** Each percentile divided by the raw floor's for the same document and peers. */
  ratioToFloor?: { p50: number; p99: number; max: number };
  /** Why figures are missing or partial. */
  note?: string;
  /** Not measured (see `note`): the subject sat this case out. */
  skipped?: boolean;
  /**
   * For subjects with processes of their own (`Session.processes`): CPU time (utime + stime from
   * /proc) each spent per keystroke, ms, from just before the first measured keystroke (after any
   * warm-up) until every receiver
   * had the last one and 300 ms more (the disk write-back runs every 100 ms). `receiver` is the
   * mean over receivers, `receiverMax` the busiest.
   */
  cpuPerKeystrokeMs?: { sender: number; receiver: number; receiverMax: number };
  /** The same processes at idle after the run (`opts.idleSeconds`), % of one core. */
  idleCpuPercent?: { sender: number; receiver: number };
}

const CLK_TCK = ((): number => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** utime + stime of a process, seconds (from /proc/PID/stat; resolution 1/CLK_TCK, 10 ms on Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime (14th), stime (15th)
}

/** CPU seconds of the sender's process, then each receiver's. */
function cpuOf(p: { sender: number; receivers: number[] }): number[] {
  return [p.sender, ...p.receivers].map(cpuSecondsOf);
}

/** Error thrown when receivers do not converge in time. */
export class Timeout extends Error {}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Timeout(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function verify(session: Session, receivers: number, expected: string): Promise<boolean> {
  for (let r = 0; r < receivers; r++) {
    if ((await session.text(r)) !== expected) return false;
  }
  return true;
}

/** Drops patches that change nothing: no one can observe them arrive. */
export function observable(keys: Keystroke[]): Keystroke[] {
  return keys.filter((k) => k.del > 0 || k.insert.length > 0);
}

/**
 * Throughput: types `keys` as fast as the subject takes them (yielding to the event loop every
 * few keystrokes so sockets flow) and stops the clock when every receiver has all of them; then
 * checks each receiver's text against `expected(typed)`.
 */
export async function measureThroughput(
  subject: Subject,
  start: StartState,
  keys: Keystroke[],
  expected: (typed: number) => string,
  peers = 2,
): Promise<ThroughputResult> {
  keys = observable(keys);
  const receivers = peers - 1;
  const session = await subject.setup({ peers, start });
  try {
    const arrived = new Array<number>(receivers).fill(0);
    // profile windows: ~20 over a whole trace; 128 keystrokes for a budgeted (slow) subject
    const budget = subject.throughputBudgetSeconds;
    const window = budget !== undefined ? 128 : Math.max(1, Math.ceil(keys.length / 20));
    const marks: { n: number; t: number; chars: number }[] = [];
    const chars: number[] = [];
    let len = start.text.length;
    for (const k of keys) { len += k.insert.length - k.del; chars.push(len); }
    let nextMark = window;
    session.onArrival((r, count) => {
      arrived[r] = count;
      if (r === 0) {
        while (count >= nextMark) { marks.push({ n: nextMark, t: performance.now(), chars: chars[nextMark - 1]! }); nextMark += window; }
      }
    });
    const t0 = performance.now();
    let typed = 0;
    for (const k of keys) {
      const p = session.type(k);
      if (p) await p;
      typed++;
      if ((typed & 127) === 0) {
        await yieldToLoop();
        if (budget !== undefined && performance.now() - t0 > budget * 1000) break;
      }
    }
    const total = typed;
    await waitFor(() => arrived.every((a) => a >= total), 600_000, `${subject.id}: all receivers to have ${total} keystrokes`);
    const t1 = performance.now();
    if (marks.length === 0 || marks[marks.length - 1]!.n !== total) marks.push({ n: total, t: t1, chars: chars[total - 1] ?? len });
    const profile: ProfilePoint[] = [];
    let prev = { n: 0, t: t0 };
    for (const m of marks) {
      if (m.n > prev.n) profile.push({ keystrokes: m.n, chars: m.chars, msPerKeystroke: (m.t - prev.t) / (m.n - prev.n) });
      prev = m;
    }
    const seconds = (t1 - t0) / 1000;
    const result: ThroughputResult = {
      subject: subject.id,
      trace: start.trace.name,
      peers,
      keystrokes: total,
      traceKeystrokes: keys.length,
      seconds,
      keystrokesPerSecond: total / seconds,
      verified: await verify(session, receivers, expected(total)),
      profile,
    };
    if (total < keys.length && budget !== undefined) result.truncated = { budgetSeconds: budget };
    const rss = await session.peakRss();
    if (Object.keys(rss).length > 0) result.peakRss = rss;
    return result;
  } finally {
    await session.close();
  }
}

/**
 * Latency: types `keys` at a steady `rate` per second for at most `seconds`, and records for each
 * keystroke and receiver the time from when it was typed to when it arrived.
 *
 * "When it was typed" is the keystroke's scheduled time if the session was still busy with earlier
 * keystrokes then (the person does not wait for the system: no coordinated omission), otherwise
 * the moment the harness actually typed it (so timer jitter is not counted against the subject).
 */
export async function measureLatency(
  subject: Subject,
  start: StartState,
  keys: Keystroke[],
  opts: { peers: number; rate: number; seconds: number; idleSeconds?: number; warmup?: number; settle?: number },
): Promise<LatencyResult> {
  keys = observable(keys);
  const receivers = opts.peers - 1;
  const session = await subject.setup({ peers: opts.peers, start });
  try {
    const arrived = new Array<number>(receivers).fill(0);
    /** When each keystroke was typed (NaN for warm-up keystrokes: no samples). */
    const origin: number[] = [];
    const samples: number[] = [];
    let wake: (() => void) | undefined;
    session.onArrival((r, count) => {
      const now = performance.now();
      for (let j = arrived[r]!; j < count; j++) if (!Number.isNaN(origin[j])) samples.push(now - origin[j]!);
      if (count > arrived[r]!) arrived[r] = count;
      wake?.();
    });
    /** Resolves once every receiver has `n` keystrokes (for the warm-up). */
    const arrivedEverywhere = async (n: number): Promise<void> => {
      const end = performance.now() + 120_000;
      while (!arrived.every((a) => a >= n)) {
        if (performance.now() > end) throw new Timeout(`timed out waiting for warm-up keystroke ${n} at every receiver`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      wake = undefined;
    };
    let text = start.text;
    // Warm-up (opts.warmup keystrokes, not measured): the code of the keystroke path gets
    // compiled first (V8 tiers hot JavaScript and WebAssembly up in background threads, seconds of
    // CPU once per process), as in a daemon that has run a while. One keystroke at a time, each
    // typed once the last reached every receiver: typed all at once, a daemon would take them as
    // a few bursts (decision 115) and never run the one-keystroke path the clock then measures.
    const warm = Math.min(opts.warmup ?? 0, keys.length);
    for (let i = 0; i < warm; i++) {
      origin.push(NaN);
      const p = session.type(keys[i]!);
      if (p) await p;
      text = applyKeystroke(text, keys[i]!);
      await arrivedEverywhere(i + 1);
    }
    if (warm > 0) {
      await waitFor(() => arrived.every((a) => a >= warm), 120_000, `${subject.id}: the warm-up keystrokes at every receiver`);
      await new Promise((r) => setTimeout(r, 1500)); // what the warm-up left to do (disk write-back)
    }
    const interval = 1000 / opts.rate;
    // Settling (opts.settle keystrokes, not measured): typed at the measured rate. Typed one at a
    // time as fast as they arrive, the warm-up never runs what only a paced keystroke runs (timers
    // between keystrokes, the write-back once typing pauses), and V8 went on tiering that code up
    // in background threads for the first two minutes of paced typing: 38–49 TurboFan
    // compilations in the first 20 s after the warm-up, 2–8 after 100 s (bench-method.md).
    const settle = Math.min(opts.settle ?? 0, keys.length - warm);
    if (settle > 0) {
      const s0 = performance.now() + 20;
      for (let i = warm; i < warm + settle; i++) {
        const wait = s0 + (i - warm) * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        origin.push(NaN);
        const p = session.type(keys[i]!);
        if (p) await p;
        text = applyKeystroke(text, keys[i]!);
      }
      await waitFor(() => arrived.every((a) => a >= warm + settle), 120_000, `${subject.id}: the settling keystrokes at every receiver`);
    }
    const first = warm + settle;
    const n = Math.min(keys.length - first, Math.floor(opts.seconds * opts.rate));
    const procs = session.processes?.();
    const cpu0 = procs && cpuOf(procs);
    markPhase(`measuring ${subject.id} ${procs ? [procs.sender, ...procs.receivers].join(',') : ''}`);
    const t0 = performance.now() + 20;
    let typed = first;
    for (; typed < first + n; typed++) {
      const scheduled = t0 + (typed - first) * interval;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const now = performance.now();
      if (now - t0 > opts.seconds * 1000 + interval) break; // a subject slower than the rate: stop on time
      const busy = typed > first && arrived.some((a) => a < typed);
      origin.push(busy ? scheduled : now);
      const k = keys[typed]!;
      const p = session.type(k);
      if (p) await p;
      text = applyKeystroke(text, k);
    }
    const all = typed;
    const total = typed - first;
    markPhase(`measured ${subject.id}`);
    let note: string | undefined;
    try {
      await waitFor(() => arrived.every((a) => a >= all), 120_000, `${subject.id}: all receivers to have ${all} keystrokes`);
    } catch (e) {
      if (!(e instanceof Timeout)) throw e;
      note = e.message;
    }
    let cpuPerKeystrokeMs: LatencyResult['cpuPerKeystrokeMs'];
    let idleCpuPercent: LatencyResult['idleCpuPercent'];
    if (procs && cpu0 && total > 0) {
      await new Promise((r) => setTimeout(r, 300));
      const cpu1 = cpuOf(procs);
      const per = (i: number): number => ((cpu1[i]! - cpu0[i]!) * 1000) / total;
      const recv = cpu1.slice(1).map((_, i) => per(i + 1));
      cpuPerKeystrokeMs = { sender: per(0), receiver: recv.reduce((a, b) => a + b, 0) / recv.length, receiverMax: Math.max(...recv) };
      if (opts.idleSeconds) {
        await new Promise((r) => setTimeout(r, 2000));
        const i0 = cpuOf(procs), s0 = performance.now();
        await new Promise((r) => setTimeout(r, opts.idleSeconds! * 1000));
        const i1 = cpuOf(procs), span = (performance.now() - s0) / 1000;
        const pct = (i: number): number => ((i1[i]! - i0[i]!) / span) * 100;
        idleCpuPercent = { sender: pct(0), receiver: i1.slice(1).reduce((a, _, i) => a + pct(i + 1), 0) / (i1.length - 1) };
      }
    }
    samples.sort((a, b) => a - b);
    const result: LatencyResult = {
      subject: subject.id,
      document: start.label,
      historyKeystrokes: start.history.length,
      peers: opts.peers,
      rate: opts.rate,
      typed: total,
      samples: samples.length,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: samples[samples.length - 1] ?? NaN,
      verified: note === undefined && (await verify(session, receivers, text)),
    };
    if (cpuPerKeystrokeMs) result.cpuPerKeystrokeMs = cpuPerKeystrokeMs;
    if (idleCpuPercent) result.idleCpuPercent = idleCpuPercent;
    if (total < n) note = `${note ? note + '; ' : ''}typed ${total} of ${n}: the subject could not keep up with ${opts.rate}/s`;
    if (note) result.note = note;
    const rss = await session.peakRss();
    if (Object.keys(rss).length > 0) result.peakRss = rss;
    return result;
  } finally {
    await session.close();
  }
}
