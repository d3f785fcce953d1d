// Where a keystroke's latency goes, stage by stage: the daemons' trace points
// (daemon/src/trace-points.ts, written with CHORUS_TRACE_DIR) merged into one timeline and read
// per keystroke. `npm run bench:keystroke -- --trace` prints the table.
//
// Every daemon writes `trace-<pid>.txt` (`<ns> <point>` lines, one monotonic clock for all
// processes). The typing daemon is the one that staged edits. A keystroke starts at its
// `editor-in`; the measured ones are paced (at 30/s, ~33 ms apart), so a keystroke starts at an
// `editor-in` of the typing daemon more than half a pace after its previous one, and its points
// are every point of any daemon until the next such start; it counts if the typing daemon staged
// an edit in it.
// The typing daemon's `peer-out` is its first after the keystroke's `route` (the change sent), and
// a receiving daemon's points count from there on.
// For each point the table gives the time from the keystroke's `editor-in` to the point's first
// occurrence in that daemon (receiving daemons: every receiver's, pooled).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Microseconds from the keystroke's arrival at the typing daemon to a point: median and 90th percentile. */
export interface PointTiming { p50Us: number; p90Us: number; samples: number }

export interface TraceTable {
  /** Keystrokes read (the last `keystrokes` paced ones). */
  keystrokes: number;
  /** Points of the typing daemon, in order of their medians. */
  typing: Record<string, PointTiming>;
  /** Points of the receiving daemons (pooled), in order of their medians. */
  receiving: Record<string, PointTiming>;
}

interface Mark { ns: bigint; pid: string; point: string }

function readMarks(dir: string): Mark[] {
  const marks: Mark[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^trace-(\d+)\.txt$/.exec(f);
    if (!m) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) marks.push({ ns: BigInt(line.slice(0, sp)), pid: m[1]!, point: line.slice(sp + 1) });
    }
  }
  return marks.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function timings(samples: Map<string, number[]>): Record<string, PointTiming> {
  const rows = [...samples].map(([point, v]) => {
    const s = [...v].sort((a, b) => a - b);
    return [point, { p50Us: quantile(s, 0.5), p90Us: quantile(s, 0.9), samples: s.length }] as const;
  });
  rows.sort((a, b) => a[1].p50Us - b[1].p50Us);
  return Object.fromEntries(rows);
}

/**
 * The table for the trace files in `dir`, over the last `keystrokes` paced keystrokes typed at
 * `rate` per second. Throws when no daemon staged an edit (no trace, or not a typing run).
 */
export function traceTable(dir: string, keystrokes: number, rate: number): TraceTable {
  const marks = readMarks(dir);
  const staged = new Map<string, number>();
  for (const m of marks) if (m.point === 'edit-staged') staged.set(m.pid, (staged.get(m.pid) ?? 0) + 1);
  const typing = [...staged].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (typing === undefined) throw new Error(`no daemon's trace in ${dir} has a staged edit`);
  // Split the timeline where the typing daemon's editor-in marks have a gap of over half a pace:
  // one keystroke's frame may come in two reads (two marks), and warm-up keystrokes come back to
  // back (one group, not counted among the last `keystrokes` paced ones).
  const halfPace = BigInt(Math.round(1e9 / rate / 2));
  const groups: Mark[][] = [];
  let lastIn: bigint | undefined;
  for (const m of marks) {
    if (m.pid === typing && m.point === 'editor-in') {
      if (lastIn === undefined || m.ns - lastIn > halfPace) groups.push([]);
      lastIn = m.ns;
    }
    groups.at(-1)?.push(m);
  }
  const paced = groups.slice(1).filter((g) => g.some((m) => m.pid === typing && m.point === 'edit-staged'));
  const chosen = paced.slice(-keystrokes);
  const typingSamples = new Map<string, number[]>();
  const receivingSamples = new Map<string, number[]>();
  for (const g of chosen) {
    const t0 = g[0]!.ns;
    // A receiving daemon's work for this keystroke starts after the keystroke left the typing
    // daemon. What it did before is the tail of earlier traffic (the last sync round of the
    // previous keystroke, a heartbeat), which a loaded machine delivers late.
    // The keystroke leaves with the typing daemon's first `peer-out` after its change entered the
    // route: one before that is other traffic (a heartbeat, a late sync reply), which a loaded
    // machine can put inside the keystroke (CI, stop 54: one such frame moved the median).
    const routed = g.find((m) => m.pid === typing && m.point === 'route')?.ns;
    const sent = (m: Mark) => m.pid === typing && m.point === 'peer-out' && m.ns >= (routed ?? g[0]!.ns);
    const left = g.find(sent)?.ns;
    const seen = new Set<string>();
    for (const m of g) {
      if (m.pid !== typing && (left === undefined || m.ns < left)) continue;
      if (m.pid === typing && m.point === 'peer-out' && !sent(m)) continue;
      const key = `${m.pid} ${m.point}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const into = m.pid === typing ? typingSamples : receivingSamples;
      let v = into.get(m.point);
      if (!v) into.set(m.point, (v = []));
      v.push(Number(m.ns - t0) / 1e3);
    }
  }
  return { keystrokes: chosen.length, typing: timings(typingSamples), receiving: timings(receivingSamples) };
}

/** The table as text: one line a point, both daemons' points merged in order of their medians. */
export function formatTraceTable(t: TraceTable): string {
  const rows = [
    ...Object.entries(t.typing).map(([p, v]) => ({ side: 'typing', p, v })),
    ...Object.entries(t.receiving).map(([p, v]) => ({ side: 'receiving', p, v })),
  ].sort((a, b) => a.v.p50Us - b.v.p50Us);
  const lines = [`where a keystroke's time goes (${t.keystrokes} keystrokes; µs from its arrival at the typing daemon, first occurrence of each point):`, '  daemon     point            p50 µs    p90 µs   samples'];
  for (const r of rows) lines.push(`  ${r.side.padEnd(9)}  ${r.p.padEnd(15)}  ${r.v.p50Us.toFixed(0).padStart(7)}  ${r.v.p90Us.toFixed(0).padStart(8)}  ${String(r.v.samples).padStart(8)}`);
  return lines.join('\n');
}
