// `node bench/dist/profile-summary.js FILE.cpuprofile [--keystrokes N] [--top N] [--from FN --span S]`:
// where a daemon's time went, from a `node --cpu-prof` profile (see `CHORUS_BENCH_NODE_ARGS` in
// keystroke.ts). Prints self time per source file (daemon modules by path, dependencies by
// package, Node internals as `node:`), and the heaviest functions by self time and by total
// (inclusive) time — per keystroke when `--keystrokes` is given. `--from FN --span S` keeps only
// the S seconds from the first sample with FN on the stack (e.g. `applyLocal` on the typing
// daemon, `applyRemote` on a receiving one), so start-up and joining are left out.
// V8 samples on wall time while the thread is not idle: a thread descheduled inside a system
// call (a loopback write that wakes the other daemon on a 2-core machine) is charged for the
// wait, so the native entries overstate CPU; /proc (keystroke.ts) is the CPU figure.

import { readFileSync } from 'node:fs';
import { numberOption, readOptions, stringOption } from './options.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** A short name for where a function lives. */
function place(url: string): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const d = url.indexOf('/dist/');
  return d !== -1 ? url.slice(d + 6) : url;
}

/**
 * Which samples count: from the first with `from` on the stack, for `spanSeconds`; or, with
 * `endGapSeconds`, the `spanSeconds` that end that long before the profile's last sample (the
 * benchmark's measured typing is followed by its idle phase and shutdown, and preceded by a
 * warm-up whose functions are the same, so only the end of the profile finds it).
 */
export type SampleWindow = { from: string; spanSeconds: number } | { endGapSeconds: number; spanSeconds: number };

export function summarise(p: Profile, keystrokes?: number, top = 20, window?: SampleWindow): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const onStack = (id: number, fn: string): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.functionName === fn) return true;
    return false;
  };
  const self = new Map<number, number>();
  let t = 0;
  let start: number | undefined;
  if (window && 'endGapSeconds' in window) {
    const end = p.timeDeltas.reduce((a, b) => a + b, 0) - window.endGapSeconds * 1e6;
    start = end - window.spanSeconds * 1e6;
  }
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    if (window && 'endGapSeconds' in window) {
      if (t < start! || t - start! > window.spanSeconds * 1e6) return;
    } else if (window) {
      if (start === undefined && onStack(id, window.from)) start = t;
      if (start === undefined || t - start > window.spanSeconds * 1e6) return;
    }
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, t]) => a + t, 0);
  const unit = (us: number): string => (keystrokes ? `${(us / 1000 / keystrokes).toFixed(3)} ms/key` : `${(us / 1000).toFixed(0)} ms`);
  const bySelfPlace = new Map<string, number>();
  const bySelfFn = new Map<string, number>();
  const byTotalFn = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    const where = name === '(garbage collector)' ? '(garbage collector)' : place(n.callFrame.url);
    bySelfPlace.set(where, (bySelfPlace.get(where) ?? 0) + t);
    const key = `${name || '(anonymous)'} ${place(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    bySelfFn.set(key, (bySelfFn.get(key) ?? 0) + t);
    // inclusive: every distinct frame on the stack gets the sample once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const k = `${f.functionName || '(anonymous)'} ${place(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      byTotalFn.set(k, (byTotalFn.get(k) ?? 0) + t);
    }
  }
  const list = (m: Map<string, number>): string =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `  ${unit(t).padStart(16)}  ${((t / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  return [
    `busy ${unit(total - idle)} (of ${(total / 1e6).toFixed(1)} s profiled)`,
    'self time by place:', list(bySelfPlace),
    'self time by function:', list(bySelfFn),
    'total time by function:', list(byTotalFn),
  ].join('\n');
}

const USAGE = 'usage: node bench/dist/profile-summary.js FILE.cpuprofile... [options]';
const { values, positionals: files } = readOptions(USAGE, {
  keystrokes: { type: 'string', help: 'N  divide by N keystrokes (per-keystroke figures)' },
  top: { type: 'string', help: 'N  functions listed (default 20)' },
  from: { type: 'string', help: 'FN  keep only the samples from the first one with FN on the stack…' },
  span: { type: 'string', help: 'S  …for S seconds (default 20)' },
  'end-gap': { type: 'string', help: 'G  instead of --from: the --span seconds ending G seconds before the last sample' },
}, { positionals: true });
if (files.length === 0) {
  console.error(`${USAGE} (--help lists the options)`);
  process.exit(2);
}
const keystrokes = values.keystrokes === undefined ? undefined : numberOption(values, 'keystrokes', 1, 1);
const from = stringOption(values, 'from');
const endGap = values['end-gap'] === undefined ? undefined : numberOption(values, 'end-gap', 0);
const window: SampleWindow | undefined = endGap !== undefined
  ? { endGapSeconds: endGap, spanSeconds: numberOption(values, 'span', 20) }
  : from ? { from, spanSeconds: numberOption(values, 'span', 20) } : undefined;
for (const f of files) {
  console.log(`== ${f}`);
  console.log(summarise(JSON.parse(readFileSync(f, 'utf8')) as Profile, keystrokes, numberOption(values, 'top', 20, 1), window));
}
