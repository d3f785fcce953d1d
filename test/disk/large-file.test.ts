// Opening a large file (a 200,000-character bundle, or as much multibyte text) makes it live from
// one deterministic initial change that is stored as the first entry of its log, not as a
// snapshot of the whole document (decision 170). Pinned here: two peers that open it on their own
// share that change (no duplicate text), typing on both reaches both editors and both folders
// exactly, the open wrote no snapshot, and a daemon killed after acknowledging edits has every
// one of them when it starts again, from the log alone.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { DocumentStore } from '../../daemon/src/workspace/document-store.js';
import { Storage } from '../../daemon/src/workspace/storage.js';
import { TextDoc } from '../../daemon/src/workspace/text-doc.js';
import { converged, editor, sharedPair, startPeer, stopAllPeers } from '../support/disk-peers.js';
import { daemonProcess } from '../support/daemon-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const procs: ChildProcess[] = [];
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await stopAllPeers();
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  }
});

/** About `n` characters of code-like text, in lines of ~80 (a bundle, a lock file). */
function ascii(n: number): string {
  const line = '  "node_modules/some-package": { "version": "1.2.3", "resolved": "https://x" },\n';
  return line.repeat(Math.ceil(n / line.length)).slice(0, n - 1) + '\n';
}

/** About `n` UTF-16 units of multibyte text: accents, CJK, astral emoji (two units each), one long line. */
function multibyte(n: number): string {
  const words = ['ünïcödé ', '€uro ', '中文字符 ', '😀🎉 ', 'naïve ', 'Ωμέγα ', '𝔘𝔫𝔦 '];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[i % words.length] + (i % 40 === 39 ? '\n' : '');
  return s + '\n';
}

/** The snapshot file of a document in a daemon's saved state. */
function snapshotOf(dir: string, fileId: string): string {
  return path.join(dir, '.chorus', 'state', `${fileId}.snap`);
}

it('a 200,000-character file and one of multibyte text, opened on two peers and typed into on both: exact text in both editors and folders, no snapshot written by the open', async () => {
  const big = ascii(200_000);
  const multi = multibyte(200_000);
  const { a, b } = await sharedPair({ 'big.js': big, 'multi.txt': multi });
  await converged(a, b, 'the first sync', 120_000);
  const ea = await editor(a.daemon.project.socketPath); // UTF-16 positions
  const eb = await editor(b.daemon.project.socketPath, { encoding: 'utf-8' });
  for (const [file, text] of [['big.js', big], ['multi.txt', multi]] as const) {
    // Both open it before anyone types: each peer makes it live on its own, from the same change.
    expect(await ea.open(file)).toBe(text);
    expect(await eb.open(file)).toBe(text);
    const id = a.daemon.workspace.index.idOf(file)!;
    expect(b.daemon.workspace.index.idOf(file)).toBe(id);
    for (const p of [a, b]) {
      expect(fs.existsSync(snapshotOf(p.dir, id))).toBe(false);
      expect(fs.statSync(path.join(p.dir, '.chorus', 'state', `${id}.log`)).size).toBeGreaterThan(0);
    }

    // Typing on both at once: in the middle (after a surrogate pair in the multibyte file) and at the end.
    const mid = text.indexOf('😀', 100_000) + 2 || 100_000;
    const [ta, tb] = ['<typed on A>', '«typed on B ✓»\n'];
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < ta.length; i++) sent.push(ea.edit(file, mid + i, mid + i, ta[i]!));
    const end = eb.text(file).length;
    sent.push(eb.edit(file, end, end, tb));
    sent.push(eb.edit(file, 0, 0, '// top\n'));
    await Promise.all(sent);
    const want = '// top\n' + text.slice(0, mid) + ta + text.slice(mid) + tb;
    await ea.waitFor(() => ea.text(file) === want, `A's editor to have both peers' typing in ${file}`, 120_000);
    await eb.waitFor(() => eb.text(file) === want, `B's editor to have both peers' typing in ${file}`, 120_000);
    await waitForFile(path.join(a.dir, file), (t) => t === want, `${file} in A's folder`, 120_000);
    await waitForFile(path.join(b.dir, file), (t) => t === want, `${file} in B's folder`, 120_000);
    expect(a.daemon.workspace.text(id)).toBe(want);
    expect(b.daemon.workspace.text(id)).toBe(want);
  }
  // A third editor on B gets exactly that text.
  const ec = await editor(b.daemon.project.socketPath, { encoding: 'utf-32' });
  expect(await ec.open('multi.txt')).toBe(eb.text('multi.txt'));
}, 600_000);

it('a daemon killed after acknowledging edits of a large file it has just opened has all of them when started again', async () => {
  const text = multibyte(200_000);
  const dir = tempProject({ 'multi.txt': text });
  const first = await daemonProcess(dir, 'large', procs, editors);
  expect(await first.editor.open('multi.txt')).toBe(text);
  const typed = 'typed ünï 😀 ';
  for (const ch of typed) {
    // one keystroke per code point, each acknowledged (in storage) before the next
    const at = first.editor.text('multi.txt').length;
    await first.editor.edit('multi.txt', at, at, ch);
  }
  first.proc.kill('SIGKILL'); // no compaction on the way out: only the log has the document
  await new Promise((r) => first.proc.once('exit', r));
  const want = text + typed;
  const second = await daemonProcess(dir, 'large', procs, editors);
  expect(await second.editor.open('multi.txt')).toBe(want);
  await waitForFile(path.join(dir, 'multi.txt'), (t) => t === want, 'the folder brought up to date with the acknowledged edits', 120_000);
}, 600_000);

// Catching up a large file from a peer (decision 181): a file whose history is long comes as the
// peer's whole saved document (SNAPSHOT_MIN_CHANGES), and the changes it brings are appended to
// the document's log, as a peer's live changes, a sync message's and a local edit are. It used to
// save and check-load the whole document again on top of loading the peer's (decision 170's "not
// done"). The log alone must hold every change, as a daemon killed mid-catch-up finds it.
it('a large file with a long history caught up from a peer is appended to its log, not saved whole, and the log alone has every change', async () => {
  const text = ascii(200_000);
  const a = await startPeer(tempProject({ 'big.js': text }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const ea = await editor(a.daemon.project.socketPath);
  expect(await ea.open('big.js')).toBe(text);
  const id = a.daemon.workspace.index.idOf('big.js')!;
  // Typed on A before B joins, one change per keystroke: a history long enough to be sent whole.
  let want = text;
  for (let i = 0; i < 5200; i++) {
    const at = 1000 + i * 7;
    // The op itself (keep `at`, insert 'x'), not a diff of two 200,000-character texts per keystroke.
    a.daemon.workspace.edit(id, [at, 'x'], { kind: 'editor', editorId: 'typist' });
    want = want.slice(0, at) + 'x' + want.slice(at);
  }
  expect(a.daemon.workspace.text(id)).toBe(want);

  const b = await startPeer(tempProject({}, 'chorus-disk-b-'), 'bob');
  // The store is the workspace's own; spied on only to count whole-document saves.
  const store = (b.daemon.workspace as unknown as { storage: DocumentStore }).storage;
  const snapshots = vi.spyOn(store, 'snapshot');
  await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  await waitForFile(path.join(b.dir, 'big.js'), (t) => t === want, "big.js in B's folder with A's typing", 120_000);
  expect(a.lines.some((l) => l.includes(`sending ${id} to peer`) && l.includes('as one saved document'))).toBe(true);
  expect(b.daemon.workspace.text(id)).toBe(want);
  expect(snapshots.mock.calls.map(([doc]) => doc).filter((doc) => doc === id)).toEqual([]);
  expect(fs.existsSync(snapshotOf(b.dir, id))).toBe(false);

  // What a daemon killed now (no compaction on the way out) starts from: B's saved state as it is
  // on disk, read without stopping B, builds the document with every change.
  const saved = new Storage(b.daemon.project.stateDir).load(id);
  expect(saved.snapshot).toBeUndefined();
  expect(TextDoc.load(saved.snapshot, saved.changes, 'ab'.repeat(16)).text).toBe(want);
}, 600_000);
