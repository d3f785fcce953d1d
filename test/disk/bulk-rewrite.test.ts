// A tool that rewrites many files at once (a formatter, `sed -i` over the tree, a branch switch)
// made every one of them a live document on every member at once, and kept them: a trial's
// `sed -i` over 416 files left each daemon at ~1.9 GB, which WebAssembly's memory never gives
// back, and every later link re-synced every such document, loading each (~40 ms): members froze
// for tens of seconds at each reconnect (decision 243). Pinned here: memory stays within the
// working-set bound during and after such a rewrite, a file open in an editor stays in memory,
// a link that comes back loads only the documents that differ, and a member joining afterwards
// gets each document whole: a trial's fourth member took 511 s and 674 MB to join after such a
// rewrite, its holder loading each document again for each round trip of the sync protocol
// (decision 247).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { DocumentStore } from '../../daemon/src/workspace/document-store.js';
import { MAX_UNPINNED_DOCS } from '../../daemon/src/workspace/workspace.js';
import { converged, editor, folderFiles, sharedPair, startPeer, stopAllPeers, until, type Peer } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';

afterEach(stopAllPeers);

const N = MAX_UNPINNED_DOCS + 24;
const files = Object.fromEntries(Array.from({ length: N }, (_, i) => [`src/m${i}.ts`, `export const m${i} = ${i};\n`.repeat(40)]));

/**
 * Every file rewritten in A's folder at once (`export const` → `export let`), waited for until B's
 * folder has every rewrite and both settle. Returns the files as they should be, and a check of a
 * folder's files against them.
 */
async function rewriteAll(a: Peer, b: Peer): Promise<{ want: Record<string, string>; same: (f: Record<string, string>) => boolean }> {
  const want: Record<string, string> = {};
  for (const [p, t] of Object.entries(files)) {
    want[p] = t.replaceAll('export const', 'export let');
    fs.writeFileSync(path.join(a.dir, p), want[p]!);
  }
  const same = (f: Record<string, string>) => Object.keys(f).length === N && Object.entries(want).every(([k, t]) => f[k] === t);
  await until(() => same(folderFiles(b.dir)), "every rewrite in B's folder", 120_000);
  await converged(a, b, 'both folders to settle');
  return { want, same };
}

it('a rewrite of more files than the working set holds: both folders end with every rewrite, and each daemon keeps at most the bound in memory, the open file included', async () => {
  const { a, b } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  const e = await editor(a.daemon.project.socketPath);
  await e.open('src/m0.ts');
  const open = a.daemon.workspace.index.idOf('src/m0.ts')!;
  const { want, same } = await rewriteAll(a, b);
  expect(folderFiles(a.dir)).toEqual(want);
  for (const p of [a, b]) {
    // The open file counts on top of the bound (it is pinned), the rest within it.
    expect(p.daemon.workspace.loaded, p.dir).toBeLessThanOrEqual(MAX_UNPINNED_DOCS + 1);
    for (const [f, t] of Object.entries(want)) expect(p.daemon.workspace.text(p.daemon.workspace.index.idOf(f)!)).toBe(t);
  }
  expect(a.daemon.workspace.isLoaded(open)).toBe(true);
  expect(e.text('src/m0.ts')).toBe(want['src/m0.ts']);
}, 300_000);

it('a link that comes back syncs only the documents that differ: the others are not loaded for it', async () => {
  const { a, b } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  // Every file a document on both (a rewrite), then all of them out of memory, as after idle.
  for (const [p, t] of Object.entries(files)) fs.writeFileSync(path.join(a.dir, p), `// rewritten\n${t}`);
  await until(() => Object.entries(folderFiles(b.dir)).every(([, t]) => t.startsWith('// rewritten\n')), "the rewrite in B's folder", 120_000);
  await converged(a, b, 'both folders to settle');
  const [A, B] = [a.daemon, b.daemon];
  // Cut the link, change one file on A meanwhile, unload everything, and let the link come back.
  A.session.network!.partition([B.identity.id]);
  B.session.network!.partition([A.identity.id]);
  try {
    await until(() => !A.session.peers().some((p) => p.id === B.identity.id && p.state === 'connected'), 'the link to go');
    fs.appendFileSync(path.join(a.dir, 'src/m7.ts'), '// changed while apart\n');
    const m7 = A.workspace.index.idOf('src/m7.ts')!;
    await until(() => A.workspace.text(m7).endsWith('// changed while apart\n'), 'A to take the change in');
    for (const w of [A.workspace, B.workspace]) w.unloadIdle(0);
    expect([A.workspace.loaded, B.workspace.loaded]).toEqual([0, 0]);
  } finally {
    A.session.network!.heal();
    B.session.network!.heal();
  }
  await until(() => fs.readFileSync(path.join(b.dir, 'src/m7.ts'), 'utf8').endsWith('// changed while apart\n'), "the change in B's folder", 60_000);
  await converged(a, b, 'both folders to settle');
  // Only the document that differed was loaded to sync it (the index is always in memory).
  expect(A.workspace.loaded, 'documents A loaded to sync').toBeLessThanOrEqual(1);
  expect(B.workspace.loaded, 'documents B loaded to sync').toBeLessThanOrEqual(1);
}, 300_000);

it('a member joining after the rewrite gets each document whole: the holder loads each at most once for it, and the joiner keeps at most the bound in memory', async () => {
  const { a, b, code } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  const { want, same } = await rewriteAll(a, b);
  // The store is the workspace's own; spied on only to count the documents A loads from it.
  const store = (a.daemon.workspace as unknown as { storage: DocumentStore }).storage;
  const opened = vi.spyOn(store, 'open');
  const c = await startPeer(tempProject({}, 'chorus-disk-c-'), 'carol');
  await c.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  await until(() => same(folderFiles(c.dir)), "every rewrite in C's folder", 120_000);
  await converged(a, c, "C's folder to settle");
  const loadedOnC = c.daemon.workspace.loaded;
  const loads = new Map<string, number>();
  for (const [doc] of opened.mock.calls) if (doc !== 'index') loads.set(doc, (loads.get(doc) ?? 0) + 1);
  // Each document A had was sent to C once, whole: loaded at most once for it (before: up to
  // once per round trip of the sync protocol, the working set being smaller than the rewrite).
  expect([...loads].filter(([, n]) => n > 1), 'documents A loaded more than once for C').toEqual([]);
  // C unloads what has arrived, as any member does (before: every history that came by sync
  // stayed in memory until idle, all N of them).
  expect(loadedOnC, 'documents C holds in memory').toBeLessThanOrEqual(MAX_UNPINNED_DOCS + 1);
  for (const [f, t] of Object.entries(want)) expect(c.daemon.workspace.text(c.daemon.workspace.index.idOf(f)!)).toBe(t);
}, 300_000);
