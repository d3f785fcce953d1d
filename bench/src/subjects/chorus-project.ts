// Join time, memory, restart time and CPU at idle of Chorus daemons on a large project.
//
// The project: 1,000 text files, 20 MB in all, in nested folders, generated from a seeded PRNG
// (the same bytes on every run and machine). One daemon shares it (`chorus share --host
// 127.0.0.1`); a second peer joins it (`chorus join --host 127.0.0.1`, which returns when the
// first sync is done); then every file on the joiner's disk is compared with the original.

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chorus, connectWhenUp, joinCli, removeRoot, share, sleep, startDaemon, stop, tempRoot, waitForMesh, type Transport } from './chorus.js';
import { peakRssOf } from './yjs.js';
import { cpuSecondsOf } from '../harness.js';
import { seeded } from '../random.js';

export interface JoinResult {
  subject: string;
  /** Files and bytes of the shared project, and what the joiner had on disk when `chorus join` returned. */
  files: number;
  bytes: number;
  filesOnDisk: number;
  bytesOnDisk: number;
  /** Every file on the joiner's disk equal to the original, and no file missing. */
  verified: boolean;
  /** `chorus share` of the generated folder (starting its daemon, which scans the files), wall clock. */
  shareSeconds: number;
  /** `chorus join` until it returned (daemon start, link, first sync, files written), wall clock. */
  seconds: number;
  /** Peak RSS (VmHWM) after the join: `sharer` and `joiner` daemon. */
  peakRss: Record<string, number>;
}

export interface RestartResult {
  subject: string;
  /** Which daemon: `joiner` (its project holds the 1,000 files it received) or `sharer`. */
  daemon: string;
  /** `chorus stop` until it returned. */
  stopSeconds: number;
  /** `chorus daemon` started until `session/status` answers on its socket (what `chorus status` asks). */
  seconds: number;
  /** Until `workspace/files` lists every file of the project. */
  filesSeconds: number;
  /** Until its status shows the other peer connected again (the saved session resumed), if it did. */
  reconnectSeconds?: number;
  /** Peak RSS of the restarted daemon (after loading), bytes. */
  peakRss?: number;
}

export interface MemoryResult { subject: string; process: string; peakRss: number; when: string }

export interface IdleCpuResult {
  subject: string;
  /** `sharer` or `joiner` daemon of the 1,000-file session, both idle. */
  daemon: string;
  seconds: number;
  /** utime + stime over `seconds`, CPU seconds. */
  cpuSeconds: number;
  /** cpuSeconds / seconds × 100 (100 = one core busy). */
  cpuPercent: number;
}

export interface ProjectResults { join: JoinResult[]; restart: RestartResult[]; memory: MemoryResult[]; idleCpu: IdleCpuResult[] }

// ---------------------------------------------------------------------------------------------
// The generated project

const WORDS = ('the of and to in is that for it as with was on be by this are at from or an have not which but all ' +
  'function return const let value index buffer peer daemon editor change text line file folder merge session link ' +
  'insert delete position revision undo cursor sync state join share restart memory count node async await export').split(' ');

/**
 * Writes `files` text files of `bytes` bytes in all (sizes vary 0.25×–1.75× the mean) into
 * `dir`, in folders up to three deep; the same seed gives the same tree. Returns path → content.
 */
export function generateProject(dir: string, files = 1000, bytes = 20 * 1000 * 1000, seed = 7): Map<string, string> {
  const rnd = seeded(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const out = new Map<string, string>();
  const sizes = Array.from({ length: files }, () => 0.25 + 1.5 * rnd());
  const scale = bytes / sizes.reduce((a, b) => a + b, 0);
  let left = bytes;
  for (let i = 0; i < files; i++) {
    const depth = Math.floor(rnd() * 4);
    const parts: string[] = [];
    for (let d = 0; d < depth; d++) parts.push(`${pick(['src', 'lib', 'docs', 'test', 'pkg', 'util', 'core', 'net'])}${Math.floor(rnd() * 4)}`);
    const name = `${pick(WORDS)}-${i}.${pick(['ts', 'md', 'txt', 'js', 'json', 'c'])}`;
    const path = [...parts, name].join('/');
    const size = i === files - 1 ? left : Math.round(sizes[i]! * scale);
    left -= size;
    const lines: string[] = [];
    let len = 0;
    while (len < size) {
      const n = 3 + Math.floor(rnd() * 12);
      let line = ' '.repeat(Math.floor(rnd() * 4) * 2);
      for (let w = 0; w < n; w++) line += (w ? ' ' : '') + pick(WORDS);
      lines.push(line);
      len += line.length + 1;
    }
    const text = (lines.join('\n') + '\n').slice(0, size - 1) + '\n';
    mkdirSync(join(dir, ...parts), { recursive: true });
    writeFileSync(join(dir, path), text);
    out.set(path, text);
  }
  return out;
}

/** Every file under `dir` but `.chorus` (and `.git`): relative path → bytes. */
function filesOnDisk(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.chorus' || e.name === '.git') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p).split('\\').join('/'), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------------------------------------
// CPU time from /proc


async function statusPid(dir: string): Promise<number> {
  const st = JSON.parse(await chorus(['status', dir, '--json'], 30_000)) as { pid: number };
  return st.pid;
}

// ---------------------------------------------------------------------------------------------

/** One session on the generated project over `t`: join, memory, idle CPU, then restarts. */
export async function measureProject(t: Transport, opts: { idleSeconds: number; log: (s: string) => void }): Promise<ProjectResults> {
  const subject = `chorus-${t}`;
  const res: ProjectResults = { join: [], restart: [], memory: [], idleCpu: [] };
  const root = tempRoot('project');
  const a = join(root, 'sharer'), b = join(root, 'joiner');
  try {
    mkdirSync(a);
    const project = generateProject(a);
    const bytes = [...project.values()].reduce((n, s) => n + Buffer.byteLength(s), 0);

    let t0 = performance.now();
    const code = await share(a, t);
    const shareSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await joinCli(code, b, t, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    const disk = filesOnDisk(b);
    let same = disk.size === project.size;
    let diskBytes = 0;
    for (const [p, buf] of disk) { diskBytes += buf.length; if (project.get(p) !== buf.toString('utf8')) same = false; }
    const pids = { sharer: await statusPid(a), joiner: await statusPid(b) };
    const peak = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) { const r = await peakRssOf(pid); if (r !== undefined) out[k] = r; }
      return out;
    };
    const joinRss = await peak();
    res.join.push({ subject, files: project.size, bytes, filesOnDisk: disk.size, bytesOnDisk: diskBytes, verified: same, shareSeconds, seconds, peakRss: joinRss });
    opts.log(`  join: ${project.size} files / ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s; on disk ${disk.size} files / ${(diskBytes / 1e6).toFixed(1)} MB${same ? '' : ' — DIFFERENT'}`);

    // CPU at idle: both daemons in the session, nothing happening (after the transport settled)
    const eds = [await connectWhenUp(a), await connectWhenUp(b)];
    try { await waitForMesh(eds, t); } finally { for (const e of eds) e.close(); }
    await sleep(2000);
    const before = { sharer: cpuSecondsOf(pids.sharer), joiner: cpuSecondsOf(pids.joiner) };
    const i0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const span = (performance.now() - i0) / 1000;
    for (const d of ['sharer', 'joiner'] as const) {
      const cpu = cpuSecondsOf(pids[d]) - before[d];
      res.idleCpu.push({ subject, daemon: d, seconds: span, cpuSeconds: cpu, cpuPercent: (cpu / span) * 100 });
    }
    opts.log(`  idle CPU over ${span.toFixed(1)} s: ${res.idleCpu.map((c) => `${c.daemon} ${c.cpuPercent.toFixed(2)}%`).join(', ')}`);
    const idleRss = await peak();
    for (const [k, v] of Object.entries(idleRss)) res.memory.push({ subject, process: `${k} daemon`, peakRss: v, when: '1,000-file session, after the join' });

    // Restart each daemon and time until it answers and lists the project's files again
    for (const [name, dir] of [['joiner', b], ['sharer', a]] as const) {
      let s0 = performance.now();
      await stop(dir);
      const stopSeconds = (performance.now() - s0) / 1000;
      s0 = performance.now();
      startDaemon(dir);
      const ed = await connectWhenUp(dir, 120_000);
      let st = await ed.status();
      const secs = (performance.now() - s0) / 1000;
      let filesSeconds = NaN;
      for (;;) {
        const f = (await ed.request('workspace/files')) as { files: unknown[] };
        if (f.files.length >= project.size) { filesSeconds = (performance.now() - s0) / 1000; break; }
        if (performance.now() - s0 > 120_000) break;
        await sleep(20);
      }
      let reconnectSeconds: number | undefined;
      while (performance.now() - s0 < 30_000) {
        st = await ed.status();
        if ((st.peers as any[]).some((p) => p.state === undefined || p.state === 'connected')) { reconnectSeconds = (performance.now() - s0) / 1000; break; }
        await sleep(20);
      }
      ed.close();
      const pid = st.pid as number;
      pids[name] = pid;
      const r: RestartResult = { subject, daemon: name, stopSeconds, seconds: secs, filesSeconds };
      if (reconnectSeconds !== undefined) r.reconnectSeconds = reconnectSeconds;
      const rss = await peakRssOf(pid);
      if (rss !== undefined) { r.peakRss = rss; res.memory.push({ subject, process: `${name} daemon`, peakRss: rss, when: 'restarted on the 1,000-file project' }); }
      res.restart.push(r);
      opts.log(`  restart ${name}: stop ${stopSeconds.toFixed(2)} s, status answers after ${secs.toFixed(2)} s, files listed after ${filesSeconds.toFixed(2)} s` +
        (reconnectSeconds !== undefined ? `, peer back after ${reconnectSeconds.toFixed(2)} s` : ', peer not back within 30 s'));
    }
    return res;
  } finally {
    await Promise.all([stop(a), stop(b)]);
    removeRoot(root);
  }
}
