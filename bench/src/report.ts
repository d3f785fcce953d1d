// Turning results into the printed table and the SVG chart (no charting dependency).

import type { LatencyResult, ThroughputResult } from './harness.js';
import type { IdleCpuResult, JoinResult, MemoryResult, RestartResult } from './subjects/chorus-project.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  /**
   * 1-minute load average when the run started and ended (`os.loadavg()`): above the core count,
   * other work shared the CPUs and the absolute figures (in-process ones most) are pessimistic.
   */
  loadAverage?: { start: number; end: number };
}

export interface Results {
  /** Bumped when a field changes meaning. */
  schema: 'chorus-bench/1';
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** Subject id every ratio divides by. */
  floor: string;
  subjects: { id: string; name: string; description?: string; status: 'ready' | 'pending'; reason?: string }[];
  traces: { name: string; file: string; keystrokes: number; endChars: number }[];
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  /**
   * Chorus only, on a generated 1,000-file / 20 MB project (see subjects/chorus-project.ts):
   * join: a peer joining until every file is on its disk (checked file by file), with both
   *   daemons' peak RSS; restart: a daemon stopped and started again until `session/status`
   *   answers (and until it lists the files, and until its peer is back); memory: daemons' peak
   *   RSS (project session, restarts, and the peak over the trace runs); idleCpu: each daemon of
   *   the project session with no activity, utime+stime over a few seconds.
   */
  join: JoinResult[];
  restart: RestartResult[];
  memory: MemoryResult[];
  idleCpu: IdleCpuResult[];
  /**
   * How long the Chorus old-document setup took (not a measured figure; explains run time):
   * typing the history through the protocol into a lone daemon, and the guests joining it.
   */
  chorusSetup?: { oldDocument: { keystrokes: number; seconds: number }[]; oldDocumentJoinSeconds: Record<string, number> };
  /** Runs that failed, so a missing figure is explained rather than silent. */
  errors: { subject: string; figure: string; message: string }[];
}

const fmt = (x: number, digits = 3): string =>
  !Number.isFinite(x) ? '—' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(digits);
const ratio = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '' : ` (${x.toPrecision(3)}×)`);
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function textReport(res: Results): string {
  const name = (id: string): string => res.subjects.find((s) => s.id === id)?.name ?? id;
  const out: string[] = [];
  const m = res.machine;
  out.push(`Chorus bench (${res.mode}), ${res.startedAt}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${mb(m.memoryBytes)}, node ${m.node}, ${m.platform}` +
    (m.loadAverage ? `, load average ${m.loadAverage.start.toFixed(1)} at start / ${m.loadAverage.end.toFixed(1)} at end` : ''));
  out.push(`ratios: to ${name(res.floor)} in this run (throughput: >1 is faster; latency: >1 is slower;`);
  out.push(`a run cut short [first N] is compared with the floor's rate over about the same first keystrokes)\n`);

  const traces = [...new Set(res.throughput.map((t) => t.trace))];
  const tSubjects = [...new Set(res.throughput.map((t) => t.subject))];
  out.push('Throughput, keystrokes/s until the receiver has the final text (2 peers)');
  const trow = [['subject', ...traces]];
  for (const s of tSubjects) {
    trow.push([name(s), ...traces.map((tr) => {
      const r = res.throughput.find((x) => x.subject === s && x.trace === tr);
      if (!r) return '—';
      const part = r.keystrokes < r.traceKeystrokes ? ` [first ${r.keystrokes.toLocaleString('en-US')}]` : '';
      return `${fmt(r.keystrokesPerSecond)}${ratio(r.ratioToFloor)}${part}${r.verified ? '' : ' WRONG TEXT'}`;
    })]);
  }
  out.push(table(trow), '');

  const scen = [...new Set(res.latency.map((l) => `${l.document}/${l.peers}`))];
  const lSubjects = [...new Set(res.latency.map((l) => l.subject))];
  const rate = res.latency[0]?.rate ?? 30;
  out.push(`Keystroke-to-receiver latency at ${rate} keystrokes/s, p50 / p99 / max ms (ratio of p50)`);
  const lrow = [['subject', ...scen.map((s) => { const [d, p] = s.split('/'); return `${d} doc, ${p} peers`; })]];
  for (const s of lSubjects) {
    lrow.push([name(s), ...scen.map((sc) => {
      const r = res.latency.find((x) => x.subject === s && `${x.document}/${x.peers}` === sc);
      if (!r) return '—';
      if (r.skipped) return 'skipped *';
      return `${fmt(r.p50Ms)} / ${fmt(r.p99Ms)} / ${fmt(r.maxMs)}${ratio(r.ratioToFloor?.p50)}${r.verified ? '' : ' UNVERIFIED'}${r.note ? ' *' : ''}`;
    })]);
  }
  out.push(table(lrow));
  const notes = res.latency.filter((l) => l.note).map((l) => `  * ${name(l.subject)}, ${l.document} doc, ${l.peers} peers: ${l.note}`);
  if (notes.length) out.push(...notes);
  out.push('');

  const growth = res.throughput.filter((t) => t.truncated);
  for (const g of growth) {
    const pts = g.profile.map((p) => `${fmt(p.msPerKeystroke)} ms at ${p.keystrokes} (${(p.chars / 1000).toFixed(1)}k chars)`);
    out.push(`${name(g.subject)} on ${g.trace}: per-keystroke cost ${pts.filter((_, i) => i % Math.ceil(pts.length / 6) === 0 || i === pts.length - 1).join(', ')}`);
  }
  const rss = [...res.throughput, ...res.latency].filter((r) => r.peakRss);
  if (rss.length) {
    const peak = new Map<string, number>();
    for (const r of rss) for (const [p, b] of Object.entries(r.peakRss!)) {
      const k = `${name(r.subject)}: ${p}`;
      peak.set(k, Math.max(peak.get(k) ?? 0, b));
    }
    out.push(`peak RSS of processes started: ${[...peak].map(([k, b]) => `${k} ${mb(b)}`).join('; ')}`);
  }
  if (res.join.length || res.idleCpu.length) {
    out.push('', 'Chorus on a 1,000-file / 20 MB project (2 peers)');
    const prow = [['subject', 'join (all files on disk)', 'peak RSS sharer / joiner', 'restart: status / files / peer back', 'CPU at idle sharer / joiner']];
    for (const id of [...new Set([...res.join, ...res.idleCpu].map((x) => x.subject))]) {
      const j = res.join.find((x) => x.subject === id);
      const rs = res.restart.filter((x) => x.subject === id);
      const idle = res.idleCpu.filter((x) => x.subject === id);
      const pct = (d: string): string => { const c = idle.find((x) => x.daemon === d); return c ? `${c.cpuPercent.toFixed(2)}%` : '—'; };
      prow.push([
        name(id),
        j ? `${fmt(j.seconds)} s (${j.filesOnDisk}/${j.files} files, ${(j.bytesOnDisk / 1e6).toFixed(1)} MB)${j.verified ? '' : ' WRONG FILES'}` : '—',
        j ? `${mb(j.peakRss['sharer'] ?? NaN)} / ${mb(j.peakRss['joiner'] ?? NaN)}` : '—',
        rs.map((r) => `${r.daemon} ${fmt(r.seconds)} / ${fmt(r.filesSeconds)} / ${r.reconnectSeconds !== undefined ? fmt(r.reconnectSeconds) : 'no'} s`).join('; ') || '—',
        idle.length ? `${pct('sharer')} / ${pct('joiner')} over ${idle[0]!.seconds.toFixed(0)} s` : '—',
      ]);
    }
    out.push(table(prow));
  }
  const setup = res.chorusSetup;
  if (setup?.oldDocument.length) {
    out.push(`Chorus old document: typing ${setup.oldDocument.map((o) => `${o.keystrokes.toLocaleString('en-US')} keystrokes into a lone daemon took ${o.seconds.toFixed(0)} s`).join(', ')}` +
      (Object.keys(setup.oldDocumentJoinSeconds).length ? `; a guest joining it: ${Object.entries(setup.oldDocumentJoinSeconds).map(([t, s]) => `${t} ${s.toFixed(0)} s`).join(', ')}` : ''));
  }
  for (const s of res.subjects.filter((x) => x.status === 'pending')) out.push(`not measured: ${s.name} — ${s.reason}`);
  for (const e of res.errors) out.push(`FAILED: ${name(e.subject)} ${e.figure}: ${e.message}`);
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];

/** A horizontal bar chart, log scale per panel: throughput per trace, then latency p50 and p99 per scenario. */
export function svgReport(res: Results): string {
  const name = (id: string): string => res.subjects.find((s) => s.id === id)?.name ?? id;
  const ids = [...new Set([...res.throughput, ...res.latency].map((r) => r.subject))];
  const color = (id: string): string => COLORS[ids.indexOf(id) % COLORS.length]!;
  type Row = { label: string; subject: string; value: number; text: string };
  const panels: { title: string; groups: { title: string; rows: Row[] }[] }[] = [];
  const traces = [...new Set(res.throughput.map((t) => t.trace))];
  panels.push({
    title: 'Throughput, keystrokes/s (2 peers; longer is better)',
    groups: traces.map((tr) => ({
      title: tr,
      rows: res.throughput.filter((t) => t.trace === tr).map((t) => ({
        label: name(t.subject), subject: t.subject, value: t.keystrokesPerSecond,
        text: `${fmt(t.keystrokesPerSecond)}/s${t.keystrokes < t.traceKeystrokes ? ` (first ${t.keystrokes})` : ''}`,
      })),
    })),
  });
  const scen = [...new Set(res.latency.map((l) => `${l.document}/${l.peers}`))];
  panels.push({
    title: `Latency at ${res.latency[0]?.rate ?? 30} keystrokes/s, ms (p50 and p99; shorter is better)`,
    groups: scen.map((sc) => {
      const [d, p] = sc.split('/');
      const rows: Row[] = [];
      for (const l of res.latency.filter((x) => `${x.document}/${x.peers}` === sc)) {
        rows.push({ label: `${name(l.subject)} p50`, subject: l.subject, value: l.p50Ms, text: `${fmt(l.p50Ms)} ms` });
        rows.push({ label: `${name(l.subject)} p99`, subject: l.subject, value: l.p99Ms, text: `${fmt(l.p99Ms)} ms` });
      }
      return { title: `${d} document, ${p} peers`, rows };
    }),
  });
  const W = 900, labelW = 230, barW = 520, rowH = 18, parts: string[] = [];
  let y = 40;
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">${esc(`Chorus bench (${res.mode}) — ${res.machine.cpu}, ${res.machine.cores} cores, node ${res.machine.node}`)}</text>`);
  for (const panel of panels) {
    const vals = panel.groups.flatMap((g) => g.rows.map((r) => r.value)).filter((v) => Number.isFinite(v) && v > 0);
    if (!vals.length) continue;
    const lo = Math.log10(Math.min(...vals)) - 0.3, hi = Math.log10(Math.max(...vals));
    const scale = (v: number): number => Math.max(2, ((Math.log10(v) - lo) / Math.max(hi - lo, 1e-9)) * barW);
    y += 10;
    parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(panel.title)} — log scale</text>`);
    y += 8;
    for (const g of panel.groups) {
      y += rowH;
      parts.push(`<text x="10" y="${y - 4}" font-size="12" font-style="italic">${esc(g.title)}</text>`);
      for (const r of g.rows) {
        const w = Number.isFinite(r.value) && r.value > 0 ? scale(r.value) : 0;
        parts.push(`<text x="${labelW - 6}" y="${y + 13}" font-size="12" text-anchor="end">${esc(r.label)}</text>`);
        parts.push(`<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${color(r.subject)}"/>`);
        parts.push(`<text x="${labelW + w + 4}" y="${y + 13}" font-size="11">${esc(r.text)}</text>`);
        y += rowH;
      }
    }
    y += 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
