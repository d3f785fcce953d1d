// `npm run bench:memory` (about a minute): what two Chorus daemons hold in memory for the
// benchmark's 1,000-file / 20 MB project, next to baselines measured in the same run.
//
// - The project: `generateProject` (chorus-project.ts), the same seeded tree every run.
// - The session: real daemons (`chorus share --host 127.0.0.1 --no-webrtc` on the generated folder,
//   `chorus join` into an empty one, which returns once the first sync is done); the joiner's
//   files are compared with the original; then both daemons are linked, left idle for
//   `--idle` seconds (default 10), and measured.
// - Per daemon: VmRSS and VmHWM (peak) from /proc/PID/status, and the daemon's own breakdown from
//   `session/status` `memory` (process.memoryUsage(): V8 heap used/total, external, arrayBuffers;
//   Automerge's WebAssembly memory; files in the index, text documents held and in memory).
// - Baselines in the same run: a bare Node process, and a Node process that loaded Automerge
//   2.2.9 and made one document (the floor any daemon pays); ratios are RSS / that floor, and
//   (RSS − floor) / the project's bytes.
//
// Options: --idle SECONDS, --files N, --mb MB, --out DIR (default bench/results; writes
// memory-latest.json). CHORUS_BENCH_CLI=path/to/cli.js measures another build's daemons.

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connectWhenUp, joinCli, removeRoot, share, sleep, stop, tempRoot, waitForMesh } from './subjects/chorus.js';
import { generateProject } from './subjects/chorus-project.js';
import { numberOption, readOptions, stringOption } from './options.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const MB = 1024 * 1024;

/** VmRSS and VmHWM of a process, bytes (/proc/PID/status). */
export function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** RSS of a Node process running `code` (an ES module) once it printed `ready`, then ended. */
async function baselineRss(code: string): Promise<{ rss: number; peak: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `${code}\nconsole.log('ready'); setInterval(() => {}, 1000);`], { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => { if (String(d).includes('ready')) resolve(); });
      child.on('exit', (c) => reject(new Error(`baseline process ended (${c}) before it was ready`)));
    });
    await sleep(500);
    return rssOf(child.pid!);
  } finally {
    child.kill();
  }
}

/** Files and bytes under `dir`, without .chorus: what the joiner wrote. */
function tally(dir: string): { files: number; bytes: number } {
  let files = 0, bytes = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.chorus') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) { files++; bytes += statSync(p).size; }
    }
  };
  walk(dir);
  return { files, bytes };
}

interface DaemonMemory {
  daemon: 'sharer' | 'joiner';
  pid: number;
  rss: number;
  peakRss: number;
  /** The daemon's own breakdown (`session/status` `memory`), bytes and counts. */
  breakdown: Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/memory.js [options]', {
    files: { type: 'string', help: 'N  files in the generated project (default 1000)' },
    mb: { type: 'string', help: 'MB  their total size (default 20)' },
    idle: { type: 'string', help: 'S  seconds idle before the daemons are measured (default 10)' },
    out: { type: 'string', help: 'DIR  where the result JSON goes (default bench/results)' },
  });
  const idleSeconds = numberOption(values, 'idle', 10);
  const files = numberOption(values, 'files', 1000, 1);
  const bytes = numberOption(values, 'mb', 20) * 1000 * 1000;
  const out = stringOption(values, 'out', join(here, '../results'));
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };

  log('baselines: a bare Node process, and one that loaded Automerge 2.2.9 and made a document…');
  const bare = await baselineRss('');
  const automerge = await baselineRss(`const A = await import('@automerge/automerge/next'); A.from({ text: 'x' });`);

  const root = tempRoot('memory');
  const a = join(root, 'sharer'), b = join(root, 'joiner');
  const daemons: DaemonMemory[] = [];
  let project = { files: 0, bytes: 0 }, joined = { files: 0, bytes: 0 }, shareSeconds = 0, joinSeconds = 0;
  try {
    mkdirSync(a);
    const generated = generateProject(a, files, bytes);
    project = { files: generated.size, bytes: [...generated.values()].reduce((n, s) => n + Buffer.byteLength(s), 0) };
    log(`project: ${project.files} files, ${(project.bytes / 1e6).toFixed(1)} MB; sharing and joining over WebSocket…`);
    let t0 = performance.now();
    const code = await share(a, 'websocket');
    shareSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await joinCli(code, b, 'websocket', 600_000);
    joinSeconds = (performance.now() - t0) / 1000;
    joined = tally(b);
    const eds = [await connectWhenUp(a), await connectWhenUp(b)];
    try {
      await waitForMesh(eds, 'websocket');
      log(`joined in ${joinSeconds.toFixed(1)} s (${joined.files} files, ${(joined.bytes / 1e6).toFixed(1)} MB on the joiner's disk); idle for ${idleSeconds} s…`);
      await sleep(idleSeconds * 1000);
      for (const [i, daemon] of (['sharer', 'joiner'] as const).entries()) {
        const st = await eds[i]!.status();
        const { rss, peak } = rssOf(st.pid as number);
        daemons.push({ daemon, pid: st.pid as number, rss, peakRss: peak, breakdown: st.memory ?? {} });
      }
    } finally {
      for (const e of eds) e.close();
    }
  } finally {
    await Promise.all([stop(a), stop(b)]);
    removeRoot(root);
  }

  const result = {
    schema: 'chorus-bench-memory/1',
    at: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, node: process.version },
    project,
    joined,
    verified: joined.files === project.files && joined.bytes === project.bytes,
    shareSeconds,
    joinSeconds,
    idleSeconds,
    baseline: { bareNode: bare, automerge },
    daemons,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'memory-latest.json'), JSON.stringify(result, null, 2) + '\n');

  const m = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '—' : `${(x / MB).toFixed(1)} MB`);
  console.log(`Chorus daemon memory, ${result.at}: ${project.files} files / ${(project.bytes / 1e6).toFixed(1)} MB shared and joined over WebSocket, then ${idleSeconds} s idle`);
  console.log(`machine: ${result.machine.cpu}, ${result.machine.cores} cores, node ${process.version}`);
  console.log(`baselines (RSS): bare Node ${m(bare.rss)}; Node with Automerge 2.2.9 and one document ${m(automerge.rss)}`);
  console.log('daemon  RSS (× Automerge floor)  peak RSS  (RSS − floor) / project  heap used / total  external  arrayBuffers  Automerge wasm  docs in memory / held  files');
  for (const d of daemons) {
    const k = d.breakdown;
    console.log(`${d.daemon.padEnd(6)}  ${`${m(d.rss)} (${(d.rss / automerge.rss).toFixed(2)}×)`.padStart(21)}  ${m(d.peakRss).padStart(8)}  ${`${((d.rss - automerge.rss) / project.bytes).toFixed(2)}×`.padStart(22)}  ${`${m(k.heapUsed)} / ${m(k.heapTotal)}`.padStart(17)}  ${m(k.external).padStart(8)}  ${m(k.arrayBuffers).padStart(12)}  ${m(k.wasm).padStart(14)}  ${`${k.docsLoaded ?? '—'} / ${k.docsHeld ?? '—'}`.padStart(21)}  ${k.files ?? '—'}`);
  }
  if (!result.verified) console.log(`WRONG: the joiner holds ${joined.files} files / ${joined.bytes} bytes, the project ${project.files} / ${project.bytes}`);
  process.exitCode = result.verified ? 0 : 1;
}

await main();
process.exit();
