/**
 * Two (or more) real daemons in this process sharing a session over loopback, for the disk
 * tests: real folders, real watchers, real overlay links (WebSocket, never WebRTC: faster, and
 * the disk tests are not about transports).
 */
import fs from 'node:fs';
import { ScriptedEditor, type ScriptedEditorOptions } from './scripted-editor.js';
import path from 'node:path';
import { Daemon } from '../../daemon/src/daemon.js';
import { HeldNetwork } from './held-network.js';
import { tempProject } from './project-dir.js';

export interface Peer {
  dir: string;
  daemon: Daemon;
  lines: string[];
  /** The replicator's network, which can hold live changes back (fault injection). */
  net: HeldNetwork;
}

const running: Peer[] = [];
/** Every folder a peer ran in, removed by `stopAllPeers`. */
const folders = new Set<string>();

/**
 * Start a daemon in `dir`; `net` can hold messages back (e.g. blobs from the start, on a restart);
 * `view`: started for a view-mode join, as `chorus join --no-disk` starts it (the folder is not read).
 */
export async function startPeer(dir: string, name: string, net = new HeldNetwork(), view = false): Promise<Peer> {
  const lines: string[] = [];
  const daemon = await Daemon.start({ dir, name, log: (m) => lines.push(m), wrapNetwork: net.wrap, view });
  const peer = { dir, daemon, lines, net };
  running.push(peer);
  folders.add(dir);
  return peer;
}

/**
 * Share `files` from a new folder A and join it from a new folder B (empty, or holding
 * `opts.joinerFiles`, or prepared by `opts.prepareJoiner` before B's daemon starts).
 */
export async function sharedPair(
  files: Record<string, string>,
  opts: { disk?: boolean; joinerFiles?: Record<string, string>; prepareSharer?: (dir: string) => void; prepareJoiner?: (dir: string) => void } = {},
): Promise<{ a: Peer; b: Peer; code: string }> {
  const aDir = tempProject(files, 'chorus-disk-a-');
  opts.prepareSharer?.(aDir);
  const a = await startPeer(aDir, 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const bDir = tempProject(opts.joinerFiles ?? {}, 'chorus-disk-b-');
  opts.prepareJoiner?.(bDir);
  const b = await startPeer(bDir, 'bob', undefined, opts.disk === false);
  await b.daemon.join(code, { disk: opts.disk ?? true, host: '127.0.0.1', webrtc: false }, () => {});
  return { a, b, code };
}

/** A read-only member of `a`'s session (a read-only code from `a`), in a new empty folder. */
export async function readOnlyPeer(a: Peer): Promise<Peer> {
  const c = await startPeer(tempProject({}, 'chorus-disk-c-'), 'carol');
  const code = await a.daemon.share({ host: '127.0.0.1', readOnly: true, webrtc: false });
  await c.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  return c;
}

/** Stop a peer's daemon (keeping its folder), e.g. to work offline and start it again. */
export async function stopPeer(p: Peer): Promise<void> {
  const i = running.indexOf(p);
  if (i >= 0) running.splice(i, 1);
  await p.daemon.stop();
}

const openEditors: ScriptedEditor[] = [];

/** A scripted editor on a peer's socket, initialised; closed by `stopAllPeers`. */
export async function editor(socketPath: string, opts: ScriptedEditorOptions = {}): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(socketPath, opts);
  openEditors.push(e);
  await e.init();
  return e;
}

/** Close every editor and stop every peer a test started. */
export async function stopAllPeers(): Promise<void> {
  for (const e of openEditors.splice(0)) e.close();
  for (const p of running.splice(0)) await p.daemon.stop().catch(() => undefined);
  for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
  folders.clear();
}

/** Every shared file of a folder (not .chorus/, not .git/), path → content. */
export function folderFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '.chorus' && e.name !== '.git') walk(r);
      } else if (e.isFile()) out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

/** Poll until `pred` holds (no timing assertions: only a generous upper bound). */
export async function until(pred: () => boolean, what: string, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

/**
 * Two members sharing `files`, their folders in step, and an editor on each with `file` open.
 * `late`: A's editor applies what its daemon sends it this many ms late, each change after the
 * one before (ScriptedEditorOptions.maxDelayMs, always near the most), so its buffer lags the
 * shared text: the case of a save or reload while others' typing is on its way to it.
 */
export async function pairWithEditors(files: Record<string, string>, file: string, late?: number, eaOpts: ScriptedEditorOptions = {}): Promise<{ a: Peer; b: Peer; ea: ScriptedEditor; eb: ScriptedEditor }> {
  const { a, b } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath, { ...(late === undefined ? {} : { maxDelayMs: late, random: () => 0.99 }), ...eaOpts });
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open(file);
  await eb.open(file);
  return { a, b, ea, eb };
}

/** Wait until both folders hold the same shared files, and return them. */
export async function converged(a: Peer, b: Peer, what = 'both folders to hold the same files', ms = 30000): Promise<Record<string, string>> {
  let last = '';
  await until(() => {
    const fa = JSON.stringify(sortKeys(folderFiles(a.dir)));
    last = fa;
    return fa === JSON.stringify(sortKeys(folderFiles(b.dir)));
  }, what, ms);
  return JSON.parse(last) as Record<string, string>;
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
}
