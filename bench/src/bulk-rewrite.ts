// `npm run bench:bulk-rewrite` (a minute or two): what a tool that rewrites every file of a tree
// at once (`sed -i`, a formatter, a branch switch) costs a session of two, next to a baseline
// measured in the same run (decision 246).
//
// - The project: `--files N` (default 300) generated TypeScript-like files of 2–20 KB (seeded,
//   the same every run) in `src/`, shared over WebSocket and joined into an empty folder.
// - The rewrite: every file of the sharer's folder gets `export ` → `export  ` on each of its
//   export lines, written one after another as `sed -i` does. Measured until the joiner's folder
//   holds every rewrite: the wall time, each daemon's CPU (utime + stime from /proc/PID/stat),
//   links dropped ("no traffic for 10 s" in either daemon's log), and the longest wait for an
//   answer from each daemon: an editor on each asks `session/status` again 50 ms after each
//   answer, as an editor's keystrokes would wait on a daemon that holds its event loop.
// - The baseline: raw Automerge 2.2.9 in this process doing the CRDT work each side cannot avoid
//   (see `baseline`); its CPU (process.cpuUsage), per side, is what that side's ratio divides by.
//
// Options: --files N, --out DIR (default bench/results; writes bulk-rewrite-latest.json).
// CHORUS_BENCH_CLI=path/to/cli.js measures another build's daemons.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as A from '@automerge/automerge/next';
import { connectWhenUp, joinCli, removeRoot, share, sleep, stop, tempRoot } from './subjects/chorus.js';
import type { BenchEditor } from './subjects/chorus-editor.js';
import { numberOption, readOptions, stringOption } from './options.js';
import { seeded } from './random.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** CPU time (user + system) a process has used so far, ms (/proc/PID/stat; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** N files of 2–20 KB: export lines among comment and body lines, the same for a given N. */
function project(n: number): Map<string, string> {
  const rand = seeded(246);
  const files = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const target = 2048 + Math.floor(rand() * 18 * 1024);
    const lines: string[] = [];
    let size = 0;
    for (let j = 0; size < target; j++) {
      const line =
        j % 5 === 0
          ? `export function f${i}_${j}(x: number): number {`
          : j % 5 === 4
            ? '}'
            : `  // step ${j} of file ${i}: ${'a'.repeat(10 + Math.floor(rand() * 50))}`;
      lines.push(line);
      size += line.length + 1;
    }
    files.set(`src/m${i}.ts`, lines.join('\n') + '\n');
  }
  return files;
}

const rewrite = (text: string): string => text.replaceAll('export ', 'export  ');

/**
 * The baseline: the CRDT work each side cannot avoid, in this process, on Automerge's handle as
 * the daemon's documents are made and changed (text-doc.ts; the JavaScript view's patching is no
 * part of the work to count). The sharer: each file a document from its old text, then the
 * rewrite as one change, one splice per rewritten line (where it is known, not diffed). The
 * joiner: the same document made from the old text it already has (the same deterministic first
 * change, decision 003), then the sharer's change applied. CPU of each half, ms.
 */
function baseline(files: Map<string, string>): { sharerMs: number; joinerMs: number } {
  let sharerMs = 0;
  let joinerMs = 0;
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const made = (text: string) => {
    const doc = A.getBackend(A.init<{ text: string }>({ actor: 'aa' }));
    const obj = doc.putObject('_root', 'text', text);
    doc.commit(undefined, 0);
    return { doc, obj };
  };
  for (const text of files.values()) {
    let t = cpu();
    const here = made(text);
    let shift = 0;
    for (let at = text.indexOf('export '); at >= 0; at = text.indexOf('export ', at + 1)) here.doc.splice(here.obj, at + 6 + shift++, 0, ' ');
    here.doc.commit(undefined, 0);
    const change = here.doc.getLastLocalChange()!;
    sharerMs += cpu() - t;
    t = cpu();
    const there = made(text);
    there.doc.applyChanges([change]);
    joinerMs += cpu() - t;
    if (there.doc.text(there.obj) !== rewrite(text)) throw new Error('the baseline rewrite went wrong');
    here.doc.free();
    there.doc.free();
  }
  return { sharerMs, joinerMs };
}

/** Ask `e` for its status again 50 ms after each answer until `stop()`; resolves with the longest wait, ms. */
function longestWait(e: BenchEditor): { stop: () => Promise<number> } {
  let running = true;
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await e.request('session/status', undefined, 600_000);
      longest = Math.max(longest, performance.now() - t);
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return longest;
    },
  };
}

const drops = (dir: string): number => (readFileSync(join(dir, '.chorus', 'daemon.log'), 'utf8').match(/no traffic for/g) ?? []).length;

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/bulk-rewrite.js [options]', {
    files: { type: 'string', help: 'N  files rewritten at once (default 300)' },
    out: { type: 'string', help: 'DIR  where the result JSON goes (default bench/results)' },
  });
  const n = numberOption(values, 'files', 300, 1);
  const out = stringOption(values, 'out', join(here, '../results'));
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  const timeout = 600_000;

  const files = project(n);
  const bytes = [...files.values()].reduce((s, t) => s + t.length, 0);
  const base = baseline(files);
  const root = tempRoot('bulk-rewrite');
  const a = join(root, 'sharer'),
    b = join(root, 'joiner');
  let result: Record<string, unknown>;
  try {
    for (const [rel, text] of files) {
      mkdirSync(join(a, 'src'), { recursive: true });
      writeFileSync(join(a, rel), text);
    }
    log(`${n} files (${(bytes / 1024 / 1024).toFixed(1)} MB) in src/; sharing and joining over WebSocket…`);
    const code = await share(a, 'websocket');
    await joinCli(code, b, 'websocket', timeout);
    const eds = [await connectWhenUp(a), await connectWhenUp(b)];
    const pids = await Promise.all(eds.map(async (e) => (await e.status()).pid as number));
    await sleep(2000); // the join's own writes settle in the watchers
    const dropsBefore = [drops(a), drops(b)];
    const cpu = pids.map(cpuMs);
    const waits = eds.map(longestWait);
    log(`rewriting all ${n} files on the sharer…`);
    const t = performance.now();
    for (const [rel, text] of files) writeFileSync(join(a, rel), rewrite(text));
    const want = new Map([...files].map(([rel, text]) => [rel, rewrite(text)]));
    const left = (): number => [...want].filter(([rel, text]) => {
      try {
        return readFileSync(join(b, rel), 'utf8') !== text;
      } catch {
        return true;
      }
    }).length;
    const end = performance.now() + timeout;
    while (left() > 0) {
      if (performance.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for the joiner to hold every rewrite (${left()} left)`);
      await sleep(100);
    }
    const seconds = (performance.now() - t) / 1000;
    const [sharerCpuMs, joinerCpuMs] = pids.map((p, i) => cpuMs(p) - cpu[i]!);
    const [sharerWaitMs, joinerWaitMs] = await Promise.all(waits.map((w) => w.stop()));
    const [sharerDrops, joinerDrops] = [drops(a) - dropsBefore[0]!, drops(b) - dropsBefore[1]!];
    for (const e of eds) e.close();
    result = {
      schema: 'chorus-bench-bulk-rewrite/1',
      at: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, node: process.version, load: os.loadavg() },
      files: n,
      bytes,
      baselineCpuMs: base,
      seconds,
      sharer: { cpuMs: sharerCpuMs, longestWaitMs: Math.round(sharerWaitMs!), linksDropped: sharerDrops },
      joiner: { cpuMs: joinerCpuMs, longestWaitMs: Math.round(joinerWaitMs!), linksDropped: joinerDrops },
    };
  } finally {
    await Promise.all([stop(a), stop(b)]);
    removeRoot(root);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'bulk-rewrite-latest.json'), JSON.stringify(result, null, 2) + '\n');
  const s = result.sharer as { cpuMs: number; longestWaitMs: number; linksDropped: number };
  const j = result.joiner as { cpuMs: number; longestWaitMs: number; linksDropped: number };
  console.log(`Chorus bulk rewrite, ${result.at as string}: ${n} files, ${(bytes / 1024 / 1024).toFixed(1)} MB, every file rewritten at once on the sharer`);
  console.log(`machine: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.cpus().length} cores, node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`the joiner holds every rewrite after ${(result.seconds as number).toFixed(1)} s`);
  console.log('daemon   CPU (× baseline)        longest wait for an answer   links dropped');
  console.log(`sharer   ${`${s.cpuMs} ms (${(s.cpuMs / base.sharerMs).toFixed(1)}×)`.padEnd(24)}${`${s.longestWaitMs} ms`.padEnd(29)}${s.linksDropped}`);
  console.log(`joiner   ${`${j.cpuMs} ms (${(j.cpuMs / base.joinerMs).toFixed(1)}×)`.padEnd(24)}${`${j.longestWaitMs} ms`.padEnd(29)}${j.linksDropped}`);
  console.log(`baseline: raw Automerge 2.2.9 on its handle, sharer ${base.sharerMs.toFixed(0)} ms (each file a document, then the rewrite as one change), joiner ${base.joinerMs.toFixed(0)} ms (the same document, then that change applied)`);
}

await main();
process.exit();
