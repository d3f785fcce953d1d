// `npm run bench:folder-moves` (a minute or two): what it costs a session when a person renames
// or removes a folder of many files, next to a baseline measured in the same run.
//
// - The project: `--files N` (default 1000) small files in `src/`, shared over WebSocket and
//   joined into an empty folder (`chorus join`, which returns once the first sync is done).
// - Rename: the sharer's `src/` becomes `lib/` (one rename, as `mv src lib` makes it); measured
//   until the joiner's folder has every file in `lib/` and none in `src/`: the wall time, and
//   each daemon's CPU (utime + stime from /proc/PID/stat) over that time.
// - Remove: the sharer's `lib/` is removed (`rm -r`); measured until the joiner's `lib/` holds
//   no file.
// - The baseline: the file-system work the joiner cannot avoid, done in this process: moving N
//   files one by one into another folder (mkdir + rename each), then removing them one by one;
//   its CPU (process.cpuUsage) is what the ratios divide by.
// The joiner's daemon applies a peer's rename file by file (it cannot know the person's own
// unshared files in the folder should move too), so its cost is a multiple of that baseline; the
// folder watcher re-reading the changed folders is most of the rest.
//
// Options: --files N, --out DIR (default bench/results; writes folder-moves-latest.json).
// CHORUS_BENCH_CLI=path/to/cli.js measures another build's daemons.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connectWhenUp, joinCli, removeRoot, share, sleep, stop, tempRoot } from './subjects/chorus.js';
import { numberOption, readOptions, stringOption } from './options.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** CPU time (user + system) a process has used so far, ms (/proc/PID/stat; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const count = (dir: string): number => {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
};

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/** The baseline: N files moved one by one into another folder, then removed one by one, in this process. */
function baseline(root: string, files: number): { moveMs: number; removeMs: number } {
  const from = join(root, 'from'), to = join(root, 'to');
  mkdirSync(from, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(from, `f${i}.txt`), `file ${i}\n`);
  let t = process.cpuUsage();
  for (let i = 0; i < files; i++) {
    mkdirSync(to, { recursive: true });
    renameSync(join(from, `f${i}.txt`), join(to, `f${i}.txt`));
  }
  const moved = process.cpuUsage(t);
  t = process.cpuUsage();
  for (let i = 0; i < files; i++) rmSync(join(to, `f${i}.txt`), { force: true });
  const removed = process.cpuUsage(t);
  rmSync(root, { recursive: true, force: true });
  return { moveMs: (moved.user + moved.system) / 1000, removeMs: (removed.user + removed.system) / 1000 };
}

interface Step {
  seconds: number;
  sharerCpuMs: number;
  joinerCpuMs: number;
}

async function main(): Promise<void> {
  const { values } = readOptions('usage: node bench/dist/folder-moves.js [options]', {
    files: { type: 'string', help: 'N  files in the folder that moves (default 1000)' },
    out: { type: 'string', help: 'DIR  where the result JSON goes (default bench/results)' },
  });
  const files = numberOption(values, 'files', 1000, 1);
  const out = stringOption(values, 'out', join(here, '../results'));
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const timeout = 600_000;

  const root = tempRoot('folder-moves');
  const base = baseline(join(root, 'baseline'), files);
  const a = join(root, 'sharer'), b = join(root, 'joiner');
  let joinSeconds = 0;
  let rename: Step | undefined, remove: Step | undefined;
  try {
    mkdirSync(join(a, 'src'), { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(join(a, 'src', `f${i}.txt`), `file ${i}\n`);
    log(`${files} files in src/; sharing and joining over WebSocket…`);
    const code = await share(a, 'websocket');
    const t0 = performance.now();
    await joinCli(code, b, 'websocket', timeout);
    joinSeconds = (performance.now() - t0) / 1000;
    const eds = [await connectWhenUp(a), await connectWhenUp(b)];
    const pids = await Promise.all(eds.map(async (e) => (await e.status()).pid as number));
    for (const e of eds) e.close();
    await sleep(2000); // the join's own writes settle in the watchers

    const step = async (what: string, act: () => void, done: () => boolean): Promise<Step> => {
      const cpu = pids.map(cpuMs);
      const t = performance.now();
      act();
      await until(what, done, timeout);
      const seconds = (performance.now() - t) / 1000;
      const [s, j] = pids.map((p, i) => cpuMs(p) - cpu[i]!);
      return { seconds, sharerCpuMs: s!, joinerCpuMs: j! };
    };
    log('renaming src/ to lib/ on the sharer…');
    rename = await step('the joiner to have lib/ and no src/', () => renameSync(join(a, 'src'), join(a, 'lib')), () => count(join(b, 'lib')) === files && count(join(b, 'src')) === 0);
    log('removing lib/ on the sharer…');
    remove = await step("the joiner's lib/ to be empty", () => rmSync(join(a, 'lib'), { recursive: true }), () => count(join(b, 'lib')) === 0);
  } finally {
    await Promise.all([stop(a), stop(b)]);
    removeRoot(root);
  }

  const result = {
    schema: 'chorus-bench-folder-moves/1',
    at: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, node: process.version, load: os.loadavg() },
    files,
    joinSeconds,
    baseline: base,
    rename,
    remove,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'folder-moves-latest.json'), JSON.stringify(result, null, 2) + '\n');

  const row = (name: string, s: Step, baseMs: number): string =>
    `${name.padEnd(7)} ${`${s.seconds.toFixed(1)} s`.padStart(9)}  ${`${s.sharerCpuMs} ms`.padStart(10)}  ${`${s.joinerCpuMs} ms (${(s.joinerCpuMs / baseMs).toFixed(0)}×)`.padStart(18)}  ${`${baseMs.toFixed(0)} ms`.padStart(9)}`;
  console.log(`Chorus folder moves, ${result.at}: ${files} files, joined in ${joinSeconds.toFixed(1)} s`);
  console.log(`machine: ${result.machine.cpu}, ${result.machine.cores} cores, node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('step     reached   sharer CPU  joiner CPU (× base)  baseline CPU');
  console.log(row('rename', rename!, base.moveMs));
  console.log(row('remove', remove!, base.removeMs));
}

await main();
process.exit();
