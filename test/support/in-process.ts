/** Start real daemons in this process (real sockets, real files, real peers) for tests. */
import { Daemon, type DaemonOptions } from '../../daemon/src/daemon.js';
import { tempProject } from './project-dir.js';
import { ScriptedEditor } from './scripted-editor.js';

const logs = new WeakMap<Daemon, string[]>();

/** A daemon on `dir`; `opts` adds Daemon.start options (e.g. `wrapNetwork` for fault injection). */
export async function startDaemon(dir: string, name = 'tester', opts: Pick<DaemonOptions, 'wrapNetwork'> = {}): Promise<Daemon> {
  const lines: string[] = [];
  const d = await Daemon.start({ dir, name, log: (m) => lines.push(m), ...opts });
  logs.set(d, lines);
  return d;
}

/** What a daemon started here has logged. */
export function logsOf(d: Daemon): string[] {
  return logs.get(d) ?? [];
}

/** Share `host`'s folder and join each of `guests` to it, on loopback. */
export async function joinAll(host: Daemon, guests: Daemon[], opts: { webrtc?: boolean } = {}): Promise<void> {
  const code = await host.share({ host: '127.0.0.1', ...(opts.webrtc === false ? { webrtc: false } : {}) });
  for (const g of guests) await g.join(code, { disk: true, host: '127.0.0.1', ...(opts.webrtc === false ? { webrtc: false } : {}) }, () => undefined);
}

/** Two peers with a scripted editor each (see `aliceAndBob`). */
export interface AliceAndBob {
  A: Daemon;
  B: Daemon;
  /** Alice's folder (the sharer's) and Bob's (the joiner's). */
  dirA: string;
  dirB: string;
  /** A scripted editor on each daemon (named 'ea' and 'eb'), initialized. */
  ea: ScriptedEditor;
  eb: ScriptedEditor;
}

/**
 * Alice shares a new folder holding `files`, Bob joins it from an empty one (loopback, no
 * WebRTC), and a scripted editor on each opens every path in `open`. The caller closes the
 * editors and stops the daemons.
 */
export async function aliceAndBob(files: Record<string, string>, open: string[]): Promise<AliceAndBob> {
  const dirA = tempProject(files);
  const dirB = tempProject();
  const A = await startDaemon(dirA, 'alice');
  const B = await startDaemon(dirB, 'bob');
  await joinAll(A, [B], { webrtc: false });
  const ea = await ScriptedEditor.socket(A.project.socketPath, { name: 'ea' });
  const eb = await ScriptedEditor.socket(B.project.socketPath, { name: 'eb' });
  for (const e of [ea, eb]) {
    await e.init();
    for (const p of open) await e.open(p);
  }
  return { A, B, dirA, dirB, ea, eb };
}
