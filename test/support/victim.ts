/**
 * What every hostile-input test ends with (issue 10): the victim daemon still serves an editor,
 * its saved state loads after a restart, a fresh peer can join it, and nothing was written
 * outside the project or inside any version-control folder.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { expect } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { reservedIn } from '../../daemon/src/workspace/path-rules.js';
import { logsOf, startDaemon } from './in-process.js';
import { tempProject } from './project-dir.js';
import { ScriptedEditor } from './scripted-editor.js';

/** Every file inside a VCS metadata folder of `root` (at any depth), with its content hash. */
function vcsFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.chorus') continue;
      if (e.isDirectory()) walk(r);
      else if (reservedIn(r)) out.set(r, createHash('sha256').update(fs.readFileSync(path.join(root, r))).digest('hex'));
    }
  };
  walk('');
  return out;
}

/** Take note of a project before an attack; `check` later proves what it must not have changed. */
export function guardFolder(root: string, outside: string[] = []): { check(): void } {
  const before = vcsFiles(root);
  return {
    check() {
      expect(vcsFiles(root), 'nothing written inside a VCS folder').toEqual(before);
      for (const o of outside) expect(fs.existsSync(o), `nothing written at ${o}`).toBe(false);
    },
  };
}

/** Where a join stands, for a failure message: each peer synced or not, blobs on their way. */
function syncState(d: Daemon): string {
  const rep = d.session.replicator;
  if (!rep) return 'the fresh peer has no replicator';
  const peers = rep.connectedPeers().map((p) => `${String(p.meta.name ?? p.id)}: ${rep.isSynced(p.id) ? 'synced' : `not synced ${JSON.stringify(rep.syncStateWith(p.id))}`}`);
  return `the fresh peer: ${peers.join(', ') || 'no peer connected'}; ${rep.blobsOnTheWay()} blobs on their way`;
}

/**
 * The four closing checks. Stops `victim`, restarts it on its folder and returns the new daemons
 * (restarted victim, fresh peer) so the test's cleanup stops them.
 */
export async function assertVictimHealthy(victim: Daemon, guard: { check(): void }): Promise<Daemon[]> {
  // 1. It still serves an editor.
  const e = await ScriptedEditor.socket(victim.project.socketPath);
  try {
    await e.init();
    const files = (await e.conn.sendRequest(P.WorkspaceFiles.type, undefined)).files;
    expect(Array.isArray(files)).toBe(true);
  } finally {
    e.close();
  }
  const before = victim.workspace.index.entries().map(([, f]) => f.path).sort();
  guard.check();
  // 2. Its saved state loads after a restart, as it was.
  await victim.stop();
  const again = await startDaemon(victim.project.root, victim.identity.name);
  const spawned = [again];
  try {
    expect(logsOf(again).filter((l) => /did not load/.test(l)), 'saved state loads without falling back').toEqual([]);
    expect(again.workspace.index.entries().map(([, f]) => f.path).sort()).toEqual(before);
    // 3. A fresh peer can join.
    const code = await again.share({ host: '127.0.0.1', webrtc: false });
    const fresh = await startDaemon(tempProject(), 'fresh');
    spawned.push(fresh);
    let timer: NodeJS.Timeout | undefined;
    const joined = await Promise.race([
      fresh.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`a fresh peer could not join within 45 s; its log:\n${logsOf(fresh).join('\n')}\nthe victim's:\n${logsOf(again).slice(-15).join('\n')}\n${syncState(fresh)}`)), 45_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(fresh.workspace.index.entries().map(([, f]) => f.path).sort()).toEqual(before);
    // Every file's content came: the victim still has all it names.
    expect((joined as Awaited<ReturnType<Daemon['join']>>).waiting, `files whose content the victim lacks; its log:\n${logsOf(again).slice(-15).join('\n')}`).toBeUndefined();
    // 4. Nothing outside the project or in a VCS folder (checked again after the restart).
    guard.check();
  } catch (err) {
    await Promise.all(spawned.map((d) => d.stop()));
    throw err;
  }
  return spawned;
}
