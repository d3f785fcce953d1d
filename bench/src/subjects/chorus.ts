// Chorus over WebSocket and over WebRTC: keystrokes typed through the editor protocol (a
// scripted editor on daemon A's socket, `utf-16` positions, pipelined `buffer/edit`) into daemon
// A, delivered over a real loopback link of that transport to daemon B (and to six more daemons
// for 8 peers: each its own `chorus join` into its own temporary folder), and received by a
// scripted editor on each receiving daemon as `buffer/didChange` (an editor sees text, not
// keystrokes: `ArrivalCounter` turns text into counts).
//
// Every daemon is a real `chorus` process started through the CLI (`chorus share --host
// 127.0.0.1`, `chorus join --host 127.0.0.1`, both with `--no-webrtc` for the WebSocket subject);
// for WebRTC the session waits until every daemon reports every peer on path `webrtc`.
// `chorus stop` ends each of them when the session closes, and at exit for any left over.
//
// The old document: the first 250,000 automerge-paper keystrokes typed through the protocol
// (pipelined) into a daemon of its own, once per run; that daemon is stopped, and each old-doc
// session copies its folder (saved state included) as the sharer's, so the receivers get the
// 250,000-change history by the sync protocol when they join. Then one character is typed and
// removed everywhere (lazy indexes, as for the floor) before the clock starts.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Session, type SetupOptions, type StartState, type Subject } from '../harness.js';
import type { Mode, RegistryEntry } from '../registry.js';
import type { Keystroke } from '../traces.js';
import { DAEMON_NODE_OPTIONS, daemonEnv } from '../../../daemon/dist/lifecycle/daemon-process.js';
import { BenchEditor, countArrivals } from './chorus-editor.js';
import { peakRssOf } from './yjs.js';

/** The CLI the daemons run: this checkout's build, or CHORUS_BENCH_CLI (to compare with another build in one run). */
export const CLI = process.env.CHORUS_BENCH_CLI ?? fileURLToPath(new URL('../../../daemon/dist/cli.js', import.meta.url));
const DOC = 'doc.txt';
/** Pipelining limits: unanswered buffer/edit requests, and keystrokes typed but not yet at every receiver. */
const MAX_UNANSWERED = 512;
const MAX_UNARRIVED = 2048;

export type Transport = 'websocket' | 'webrtc';

// ---------------------------------------------------------------------------------------------
// The CLI and the daemons it starts

/** Folders whose daemon may be running; stopped at exit if a session did not get to it. */
const live = new Set<string>();
process.on('exit', () => {
  for (const d of live) {
    try { execFileSync(process.execPath, [CLI, 'stop', d], { stdio: 'ignore', timeout: 15_000 }); } catch { /* already gone */ }
  }
  for (const d of tempRoots) rmSync(d, { recursive: true, force: true });
});
const tempRoots = new Set<string>();

export function tempRoot(tag: string): string {
  const d = mkdtempSync(join(os.tmpdir(), `chorus-bench-${tag}-`));
  tempRoots.add(d);
  return d;
}
/** CHORUS_BENCH_KEEP=1 keeps the temporary folders (daemon logs in each .chorus/daemon.log) for a post-mortem. */
const keep = process.env.CHORUS_BENCH_KEEP === '1';
export function removeRoot(d: string): void {
  if (keep) { process.stderr.write(`  kept ${d}\n`); tempRoots.delete(d); return; }
  rmSync(d, { recursive: true, force: true });
  tempRoots.delete(d);
}

export function chorus(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`chorus ${args[0]} failed: ${err.message.split('\n')[0]} ${String(stderr).trim().slice(-400)}`));
      else resolve(String(stdout));
    });
  });
}

const lastJson = (out: string): any => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
const webrtcFlag = (t: Transport): string[] => (t === 'websocket' ? ['--no-webrtc'] : []);

export async function share(dir: string, t: Transport): Promise<string> {
  await startDaemonReady(dir);
  const r = lastJson(await chorus(['share', dir, '--json', '--host', '127.0.0.1', ...webrtcFlag(t)]));
  if (typeof r.code !== 'string') throw new Error(`chorus share ${dir} printed no code`);
  return r.code;
}

export async function joinCli(code: string, dir: string, t: Transport, timeoutMs = 300_000): Promise<{ files: number; bytes: number; seconds: number }> {
  mkdirSync(dir, { recursive: true });
  await startDaemonReady(dir);
  return lastJson(await chorus(['join', code, dir, '--host', '127.0.0.1', '--json', ...webrtcFlag(t)], timeoutMs));
}

export async function stop(dir: string): Promise<void> {
  try { await chorus(['stop', dir], 30_000); } catch { /* not running */ }
  live.delete(dir);
}

/** Starts `chorus daemon dir` in the background (as `chorus connect` would), logging to .chorus/daemon.log. */
export function startDaemon(dir: string): void {
  mkdirSync(join(dir, '.chorus'), { recursive: true });
  const out = openSync(join(dir, '.chorus', 'daemon.log'), 'a');
  // Another build's daemons (CHORUS_BENCH_CLI) start in this environment as it is.
  const env = process.env.CHORUS_BENCH_CLI ? process.env : daemonEnv();
  const child = spawn(process.execPath, [...daemonNodeArgs(), CLI, 'daemon', dir], { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  child.unref();
  live.add(dir);
}

/**
 * Node options for the daemons the bench starts: those `chorus` starts its daemons with (not for
 * another build's, CHORUS_BENCH_CLI; the same for the environment, daemonEnv), then
 * CHORUS_BENCH_NODE_ARGS (split on spaces), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them (written when they stop).
 */
function daemonNodeArgs(): string[] {
  // Another build's daemons (CHORUS_BENCH_CLI) run without this build's options.
  const own = process.env.CHORUS_BENCH_CLI ? [] : DAEMON_NODE_OPTIONS;
  return [...own, ...(process.env.CHORUS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
}

const logSize = (dir: string): number => { try { return statSync(join(dir, '.chorus', 'daemon.log')).size; } catch { return 0; } };

/**
 * Starts the daemon of `dir` and waits until it has finished starting: taken in its folder and
 * resumed its saved session, if any (its log says `took in N files`). The daemon serves its socket
 * before that, and a `session/share` or `session/join` that arrives while it is still scanning the
 * folder makes it start a second session overlay when it then resumes the session just saved
 * (seen here: the sharer then shows no peers while guests are linked to the other overlay). So
 * the bench starts each daemon first and shares or joins once it is ready. Returns seconds.
 */
export async function startDaemonReady(dir: string, timeoutMs = 120_000): Promise<number> {
  const from = logSize(dir);
  const t0 = performance.now();
  startDaemon(dir);
  const log = join(dir, '.chorus', 'daemon.log');
  await until(() => {
    try {
      const text = readFileSync(log, 'utf8').slice(from);
      return /took in \d+ files?|view mode/.test(text) ? true : undefined;
    } catch { return undefined; }
  }, timeoutMs, `the daemon of ${dir} to take in its folder`, 10);
  await sleep(20); // resume() follows the scan
  (await connectWhenUp(dir, timeoutMs)).close();
  return (performance.now() - t0) / 1000;
}

/** Connects an editor to the daemon of `dir`, retrying until its socket answers. */
export async function connectWhenUp(dir: string, timeoutMs = 60_000, name = 'bench'): Promise<BenchEditor> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await BenchEditor.connect(dir, name);
    } catch (e) {
      if (performance.now() > end) throw new Error(`the daemon of ${dir} did not answer within ${timeoutMs} ms: ${String(e)}`);
      await sleep(10);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, every = 20): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Waits until every daemon sees all the others, on `transport`'s path; returns the paths seen. */
export async function waitForMesh(editors: BenchEditor[], t: Transport, timeoutMs = 60_000): Promise<void> {
  let last = '';
  try {
    await until(async () => {
      const sts = await Promise.all(editors.map((e) => e.status()));
      last = sts.map((s, i) => `${i}: ${(s.peers as any[]).map((p) => `${p.path}/${p.state}`).join(',')}`).join('; ');
      const ok = sts.every((s) => {
        const peers = (s.peers as any[]).filter((p) => p.state === undefined || p.state === 'connected');
        return peers.length >= editors.length - 1 && peers.every((p) => p.path === t);
      });
      return ok ? true : undefined;
    }, timeoutMs, `every daemon to see ${editors.length - 1} peers over ${t}`, 100);
  } catch (e) {
    throw new Error(`${String(e)} (last seen: ${last})`);
  }
}

// ---------------------------------------------------------------------------------------------
// The old document: built once per run by typing its history through the protocol

const builtOld = new Map<string, { dir: string; seconds: number }>();

/** Seconds it took to type each old document's history, for the report. */
export function oldBuildTimes(): { keystrokes: number; seconds: number }[] {
  return [...builtOld.entries()].map(([k, v]) => ({ keystrokes: Number(k.split(':')[1]), seconds: v.seconds }));
}

export async function oldFolder(start: StartState): Promise<string> {
  const key = `${start.trace.name}:${start.history.length}`;
  const hit = builtOld.get(key);
  if (hit) return hit.dir;
  const root = tempRoot('old');
  const dir = join(root, 'p');
  mkdirSync(dir);
  writeFileSync(join(dir, DOC), start.trace.startContent);
  startDaemon(dir);
  const ed = await connectWhenUp(dir);
  const t0 = performance.now();
  try {
    if ((await ed.open(DOC)) !== start.trace.startContent) throw new Error('old document: the daemon opened other text than the start content');
    let lastLog = t0;
    for (let i = 0; i < start.history.length; i++) {
      ed.edit(start.history[i]!);
      if (ed.inflight >= MAX_UNANSWERED) await new Promise<void>((r) => { ed.onAnswer = () => { if (ed.inflight < MAX_UNANSWERED / 2) r(); }; });
      if (ed.error) throw ed.error;
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        process.stderr.write(`  old document: ${i.toLocaleString('en-US')} of ${start.history.length.toLocaleString('en-US')} keystrokes typed\n`);
      }
    }
    await until(() => (ed.inflight === 0 ? true : undefined), 600_000, 'the old document\'s edits to be answered', 5);
    if (ed.error) throw ed.error;
    if (ed.text !== start.text) throw new Error('old document: the editor\'s text differs from the trace');
  } finally {
    ed.close();
    await stop(dir);
  }
  const seconds = (performance.now() - t0) / 1000;
  builtOld.set(key, { dir, seconds });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The subject

/** Daemons and editors of one session: [0] is the sharer (and typist), the rest joined. */
interface Mesh { root: string; dirs: string[]; editors: BenchEditor[]; pids: number[]; joinSeconds?: number }

async function startMesh(peers: number, t: Transport, prepare: (dir: string) => Promise<void>, tag: string): Promise<Mesh> {
  const root = tempRoot(tag);
  const dirs = Array.from({ length: peers }, (_, i) => join(root, `p${i}`));
  const mesh: Mesh = { root, dirs, editors: [], pids: [] };
  try {
    await prepare(dirs[0]!);
    const code = await share(dirs[0]!, t);
    // the guests join at once, as people would; each `chorus join` returns after its first sync
    const t0 = performance.now();
    await Promise.all(dirs.slice(1).map((d) => joinCli(code, d, t)));
    mesh.joinSeconds = (performance.now() - t0) / 1000;
    for (const d of dirs) mesh.editors.push(await connectWhenUp(d));
    await waitForMesh(mesh.editors, t);
    mesh.pids = (await Promise.all(mesh.editors.map((e) => e.status()))).map((s) => s.pid as number);
    return mesh;
  } catch (e) {
    await closeMesh(mesh);
    throw e;
  }
}

async function closeMesh(m: Mesh): Promise<void> {
  for (const e of m.editors) e.close();
  await Promise.all(m.dirs.map((d) => stop(d)));
  removeRoot(m.root);
}

/** How long the guests took to join the old document, per transport (seconds, all guests at once). */
export const oldJoinSeconds = new Map<Transport, number>();
/** Most a run may spend joining guests to the old document for one 8-peer case. */
const OLD_JOIN_BUDGET_SECONDS = 180;

export function chorusSubject(t: Transport, mode: Mode): Subject {
  const label = t === 'websocket' ? 'WebSocket' : 'WebRTC';
  return {
    id: `chorus-${t}`,
    name: `Chorus over ${label}`,
    description: `buffer/edit from an editor into daemon A, a loopback ${label} link to each other daemon, buffer/didChange to an editor there`,
    maxPeers: 8,
    skipLatency({ peers, start }: SetupOptions): string | undefined {
      if (start.history.length === 0) return undefined;
      const n = start.history.length.toLocaleString('en-US');
      if (mode === 'quick') return `--quick leaves out the old document for Chorus (typing its ${n} keystrokes into a daemon takes ~50 s and each join of it over a minute); the full run measures it`;
      const j = oldJoinSeconds.get(t);
      if (peers > 2 && (j === undefined || j * (peers - 1) > OLD_JOIN_BUDGET_SECONDS)) {
        return `${peers - 1} guests joining the ${n}-change document would take ${j === undefined ? 'an unknown time' : `about ${Math.round(j * (peers - 1))} s (one took ${j.toFixed(0)} s)`}, over the run's ${OLD_JOIN_BUDGET_SECONDS} s budget`;
      }
      return undefined;
    },
    async setup({ peers, start }: SetupOptions): Promise<Session> {
      const old = start.history.length > 0;
      const mesh = await startMesh(peers, t, async (dir) => {
        if (old) {
          cpSync(await oldFolder(start), dir, {
            recursive: true,
            filter: (src) => !/[/\\]\.chorus[/\\](daemon\.(sock|lock|log))$/.test(src),
          });
        } else {
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, DOC), start.text);
        }
      }, t);
      if (old && peers === 2 && mesh.joinSeconds !== undefined) oldJoinSeconds.set(t, mesh.joinSeconds);
      try {
        const [sender, ...receivers] = mesh.editors as [BenchEditor, ...BenchEditor[]];
        for (const e of mesh.editors) {
          const text = await e.open(DOC);
          if (text !== start.text) throw new Error(`${e.dir}: opened ${text.length} chars, expected the start document's ${start.text.length}`);
        }
        // warm-up: type and remove one character everywhere, waiting for every receiver
        for (const [k, want] of [
          [{ index: -1, pos: 0, del: 0, insert: 'x' }, 'x' + start.text],
          [{ index: -2, pos: 0, del: 1, insert: '' }, start.text],
        ] as const) {
          sender.edit(k);
          await until(() => (receivers.every((r) => r.text === want) ? true : undefined), 120_000, 'the warm-up keystroke at every receiver', 2);
          if (sender.error) throw sender.error;
        }
        let typed = 0;
        let wake: (() => void) | undefined;
        const check = (): void => {
          if (wake && sender.inflight < MAX_UNANSWERED && typed - Math.min(...arrived) < MAX_UNARRIVED) { const w = wake; wake = undefined; w(); }
        };
        const arrivals = countArrivals(receivers, start.text, check);
        const { counter, arrived } = arrivals;
        sender.onAnswer = check;
        return {
          type(k: Keystroke): void | Promise<void> {
            if (sender.error) throw sender.error;
            counter.typed(k);
            sender.edit(k);
            typed++;
            if (sender.inflight >= MAX_UNANSWERED || typed - Math.min(...arrived) >= MAX_UNARRIVED) {
              return new Promise<void>((r) => { wake = r; });
            }
          },
          onArrival(f) { arrivals.onArrival = f; },
          text: (r) => receivers[r]!.text,
          processes: () => ({ sender: mesh.pids[0]!, receivers: mesh.pids.slice(1) }),
          async peakRss(): Promise<Record<string, number>> {
            const out: Record<string, number> = {};
            const a = await peakRssOf(mesh.pids[0]!);
            if (a !== undefined) out['sender daemon'] = a;
            const rs = (await Promise.all(mesh.pids.slice(1).map(peakRssOf))).filter((x): x is number => x !== undefined);
            if (rs.length) out['receiver daemon'] = Math.max(...rs);
            return out;
          },
          async close() {
            if (sender.error) process.stderr.write(`  ${t}: a buffer/edit was refused: ${sender.error.message}\n`);
            await closeMesh(mesh);
          },
        };
      } catch (e) {
        await closeMesh(mesh);
        throw e;
      }
    },
  };
}

export const chorusEntries: RegistryEntry[] = [
  { status: 'ready', id: 'chorus-websocket', name: 'Chorus over WebSocket', subject: (mode) => chorusSubject('websocket', mode) },
  { status: 'ready', id: 'chorus-webrtc', name: 'Chorus over WebRTC', subject: (mode) => chorusSubject('webrtc', mode) },
];

/** True when the daemon has been built (`npm run build` at the root). */
export const daemonBuilt = (): boolean => existsSync(CLI);
export const readJson = (f: string): any => JSON.parse(readFileSync(f, 'utf8'));
