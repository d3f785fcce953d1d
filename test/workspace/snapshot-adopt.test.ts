// A peer's whole document for a file that is not live here (decision 247 sends it so) is loaded
// once and becomes the document, when it holds the initial change this daemon would have made
// the file live from: no initial change is built and nothing is merged (s53 N3, decision 251).
// When it does not hold it (the peer made the file live from other content), it is merged onto
// that change as before. Either way the text, the heads, what is stored and what the route is
// told are what merging gives.
import * as A from '@automerge/automerge/next';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { applyOp } from '../../daemon/src/text/text-op.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { TextDoc } from '../../daemon/src/workspace/text-doc.js';
import { Workspace, type TextEvent } from '../../daemon/src/workspace/workspace.js';

const PEER = { kind: 'peer', peerId: 'p'.repeat(16) } as const;
const DISK = { kind: 'disk' } as const;
const HERE_ACTOR = 'ab'.repeat(16);
const noFolder = { read: async () => undefined };
const bytes = (s: string) => new TextEncoder().encode(s);

const base = Array.from({ length: 300 }, (_, i) => `const value${i} = compute("item ${i}", ${i * 7});`).join('\n') + '\n';
const rewritten = base.replaceAll('const ', 'let ');

let store: MemoryStore;
let here: Workspace;
let peer: Workspace;
let events: TextEvent[];

beforeEach(() => {
  store = new MemoryStore();
  here = new Workspace(store, new MemoryBlobStore(), HERE_ACTOR, noFolder);
  peer = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'cd'.repeat(16), noFolder);
  // The peer's index reaches this workspace as the replicator hands it on; so does the file's
  // first content, as a blob (a joiner has every file's blob and no live document of it).
  peer.on('localChange', (docId, change) => {
    if (docId === 'index') here.applyRemote(docId, [change], PEER);
  });
  events = [];
  here.on('text', (e) => events.push(e));
});

afterEach(() => {
  vi.restoreAllMocks();
  here.close();
  peer.close();
});

/** On the peer: the file made, its blob here too, then made live and rewritten by a tool. */
async function rewrittenOnPeer(): Promise<string> {
  const id = peer.addFile('src/values.ts', bytes(base), DISK);
  here.blobs.put(bytes(base));
  await peer.open('src/values.ts', false, DISK);
  peer.edit(id, diffToOp(base, rewritten), DISK);
  expect(here.isLive(id)).toBe(false);
  return id;
}

it('a whole document holding the initial change here is taken as it is: no initial change built, one text change told', async () => {
  const id = await rewrittenOnPeer();
  const snapshot = peer.savedForm(id)!.data;
  const initial = vi.spyOn(TextDoc, 'initial');
  here.applySnapshot(id, snapshot, PEER);
  expect(initial).not.toHaveBeenCalled();
  expect(here.text(id)).toBe(rewritten);
  expect(here.savedHeads(id)).toBe(peer.savedHeads(id));
  // The route is told what changed from the text the folder had (the blob), as a merge tells it.
  expect(events).toHaveLength(1);
  const [told] = events;
  expect(told!.before.toString()).toBe(base);
  expect(told!.after.toString()).toBe(rewritten);
  expect(applyOp(base, told!.op)).toBe(rewritten);
  expect(told!.origin).toEqual(PEER);
  // Later edits here are this daemon's own, and reach the peer as changes it can apply.
  here.edit(id, diffToOp(rewritten, `// typed here\n${rewritten}`), { kind: 'editor', editorId: 'e', editId: 'e-1' });
  here.settle();
  const sent = events.slice(1).flatMap((e) => (e.raw ? [e.raw] : []));
  expect(sent).toHaveLength(1);
  expect(A.decodeChange(sent[0]!).actor.startsWith(HERE_ACTOR)).toBe(true);
  peer.applyRemote(id, sent, PEER);
  expect(peer.text(id)).toBe(`// typed here\n${rewritten}`);
});

it('what it stores loads again as the same document', async () => {
  const id = await rewrittenOnPeer();
  here.applySnapshot(id, peer.savedForm(id)!.data, PEER);
  const heads = here.savedHeads(id);
  here.close();
  const again = new Workspace(store, here.blobs, HERE_ACTOR, noFolder);
  try {
    expect(again.text(id)).toBe(rewritten);
    expect(again.savedHeads(id)).toBe(heads);
  } finally {
    again.close();
  }
  here = new Workspace(new MemoryStore(), new MemoryBlobStore(), HERE_ACTOR, noFolder); // for afterEach
});

it('a whole document made live from other content is merged onto the initial change here, as before', async () => {
  const id = await rewrittenOnPeer();
  // Another peer made the same file live from other content (its initial change differs).
  const other = TextDoc.initial(id, 'other content\n', 'ef'.repeat(16)).doc;
  const snapshot = other.save();
  const merged = TextDoc.initial(id, base, HERE_ACTOR).doc;
  merged.loadSnapshot(snapshot);
  const initial = vi.spyOn(TextDoc, 'initial');
  here.applySnapshot(id, snapshot, PEER);
  expect(initial).toHaveBeenCalledTimes(1);
  expect(here.text(id)).toBe(merged.text);
  expect(here.savedHeads(id)).toBe(merged.heads.join(','));
  other.free();
  merged.free();
});

it('a whole document that does not load is refused, and leaves nothing live', async () => {
  const id = await rewrittenOnPeer();
  const snapshot = peer.savedForm(id)!.data;
  expect(() => here.applySnapshot(id, snapshot.subarray(0, snapshot.length - 5), PEER)).toThrow(/does not load/);
  expect(here.isLive(id)).toBe(false);
  expect(events).toHaveLength(0);
  // The intact one is taken after that.
  here.applySnapshot(id, snapshot, PEER);
  expect(here.text(id)).toBe(rewritten);
});
