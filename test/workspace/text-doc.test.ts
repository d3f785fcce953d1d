// TextDoc makes local changes on Automerge's handle and lets the document's JavaScript view catch
// up only when an Automerge call needs it (text-doc.ts, `change` / `viewCurrent`). Pinned here:
// whatever the interleaving of local edits, peers' changes, sync messages and snapshots, the op
// a remote update returns is exactly what it did to the text (so editors stay in step), the
// mirror always equals the CRDT's text, the changes are the ones `A.change` makes, and peers
// converge.
import * as A from '@automerge/automerge/next';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../daemon/src/digest.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { applyOp } from '../../daemon/src/text/text-op.js';
import { TextDoc, type RawChange } from '../../daemon/src/workspace/text-doc.js';

const FILE = 'f' + '0'.repeat(24);

/** The text the CRDT holds, read from a fresh load of everything the document saves. */
function crdtText(doc: TextDoc): string {
  const loaded = A.load<{ text: string }>(doc.save());
  const text = loaded.text;
  A.free(loaded);
  return text;
}

/** Replace `del` characters at `at` (clamped to the text) with `ins`, as an editor would. */
function edit(doc: TextDoc, at: number, del: number, ins: string): RawChange | undefined {
  const before = doc.text;
  const from = Math.min(at, before.length);
  const after = before.slice(0, from) + ins + before.slice(Math.min(before.length, from + del));
  return doc.applyLocal(diffToOp(before, after));
}

type Step =
  | { kind: 'edit'; peer: 0 | 1; at: number; del: number; ins: string }
  | { kind: 'deliver'; peer: 0 | 1 }
  | { kind: 'sync' }
  | { kind: 'snapshot'; peer: 0 | 1 };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('edit' as const), peer: fc.constantFrom(0 as const, 1 as const), at: fc.nat(40), del: fc.nat(3), ins: fc.string({ maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), peer: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), peer: fc.constantFrom(0 as const, 1 as const) }) },
);

describe('TextDoc: local changes on the handle, the view caught up on demand', () => {
  it('a local change is the change A.change makes (same operations, dependencies, message)', () => {
    const doc = TextDoc.create(FILE, 'hello\nworld\n', 'ab'.repeat(16));
    const change = edit(doc, 6, 0, 'big ')!;
    const outside = doc.applyLocal(diffToOp(doc.text, 'formatted\n'), 'formatted\n')!;
    // the same edit by A.change, on the same document with the same actor
    const twin = TextDoc.create(FILE, 'hello\nworld\n', 'ab'.repeat(16));
    const reference = A.load<{ text: string }>(twin.save(), { actor: 'ab'.repeat(16) });
    twin.free();
    const viaChange = A.change(reference, (d) => A.splice(d, ['text'], 6, 0, 'big '));
    const [mine, theirs] = [A.decodeChange(change), A.decodeChange(A.getLastLocalChange(viaChange)!)];
    expect(Number.isInteger(mine.time) && Math.abs(mine.time - Date.now() / 1000) < 5).toBe(true);
    expect({ ...mine, time: 0, hash: '' }).toEqual({ ...theirs, time: 0, hash: '' });
    expect(mine.seq).toBe(1);
    expect(A.decodeChange(outside).message).toMatch(/^outside:[0-9a-f]{64}$/);
    expect(crdtText(doc)).toBe('formatted\n');
    A.free(viaChange);
    doc.free();
  });

  it('remote updates after local changes report exactly their own effect; mirrors equal the CRDT; peers converge', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const base = TextDoc.create(FILE, 'abc\ndef\n', 'aa'.repeat(16));
        const peers = [TextDoc.load(base.save(), [], '11'.repeat(16)), TextDoc.load(base.save(), [], '22'.repeat(16))];
        base.free();
        const outbox: RawChange[][] = [[], []];
        const remote = (to: TextDoc, update: () => ReturnType<TextDoc['applyRemote']>) => {
          const before = to.text;
          const op = update();
          expect(op ? applyOp(before, op) : before).toBe(to.text);
        };
        for (const s of steps) {
          const me = s.kind === 'sync' ? 0 : s.peer;
          const other = peers[1 - me]!;
          if (s.kind === 'edit') {
            const c = edit(peers[me]!, s.at, s.del, s.ins);
            if (c) outbox[me]!.push(c);
          } else if (s.kind === 'deliver') {
            const changes = outbox[me]!.splice(0);
            remote(other, () => other.applyRemote(changes));
          } else if (s.kind === 'snapshot') {
            remote(other, () => other.loadSnapshot(peers[me]!.save()));
          } else {
            // the sync protocol between the two until neither has anything to say
            let [s0, s1] = [A.initSyncState(), A.initSyncState()];
            for (let round = 0; round < 10; round++) {
              const a = peers[0]!.generateSync(s0);
              s0 = a.state;
              if (a.message) remote(peers[1]!, () => { const r = peers[1]!.receiveSync(s1, a.message!); s1 = r.state; return r.op; });
              const b = peers[1]!.generateSync(s1);
              s1 = b.state;
              if (b.message) remote(peers[0]!, () => { const r = peers[0]!.receiveSync(s0, b.message!); s0 = r.state; return r.op; });
              if (!a.message && !b.message) break;
            }
          }
          for (const p of peers) expect(p.text).toBe(crdtText(p));
        }
        remote(peers[1]!, () => peers[1]!.applyRemote(outbox[0]!.splice(0)));
        remote(peers[0]!, () => peers[0]!.applyRemote(outbox[1]!.splice(0)));
        expect(peers[0]!.text).toBe(peers[1]!.text);
        expect(peers[0]!.heads.sort()).toEqual(peers[1]!.heads.sort());
        for (const p of peers) p.free();
      }),
      { numRuns: 150 },
    );
  });

  it('the initial change is the one A.change makes, the same on two peers; later changes carry each peer\'s actor and merge without duplicate text', () => {
    // Made on the handle and given the daemon's actor by the handle's clone (decision 170):
    // byte for byte the change older daemons make with A.change, so peers that made a file live
    // independently (or run an older daemon) share it, and their edits apply on each other.
    const content = 'ünïcödé € 😀 中文\n'.repeat(50) + 'x'.repeat(3000) + '\n';
    const initialActor = sha256Hex(`${FILE}:${sha256Hex(content)}`).slice(0, 32);
    const reference = A.change(A.init<{ text: string }>({ actor: initialActor }), { time: 0 }, (d) => {
      d.text = content;
    });
    const a = TextDoc.initial(FILE, content, 'aa'.repeat(16));
    const b = TextDoc.initial(FILE, content, 'bb'.repeat(16));
    expect(Buffer.from(a.change).equals(Buffer.from(A.getLastLocalChange(reference)!))).toBe(true);
    expect(Buffer.from(b.change).equals(Buffer.from(a.change))).toBe(true);
    expect(a.doc.heads).toEqual(A.getHeads(reference));
    for (const small of ['', 'x', '\r\n😀']) {
      const made = TextDoc.initial(FILE, small, 'aa'.repeat(16));
      const ref = A.change(A.init<{ text: string }>({ actor: sha256Hex(`${FILE}:${sha256Hex(small)}`).slice(0, 32) }), { time: 0 }, (d) => {
        d.text = small;
      });
      expect(Buffer.from(made.change).equals(Buffer.from(A.getLastLocalChange(ref)!))).toBe(true);
      expect(made.doc.text).toBe(small);
      made.doc.free();
      A.free(ref);
    }
    expect(a.doc.text).toBe(content);
    // A document built from the stored initial change alone (a restart before any compaction).
    const restarted = TextDoc.load(undefined, [a.change], 'cc'.repeat(16));
    expect(restarted.text).toBe(content);
    expect(restarted.heads).toEqual(a.doc.heads);

    const mine = edit(a.doc, 3, 2, 'A')!;
    const theirs = edit(b.doc, content.length, 0, 'B\n')!;
    expect(A.decodeChange(mine)).toMatchObject({ actor: 'aa'.repeat(16), seq: 1, deps: A.getHeads(reference) });
    expect(A.decodeChange(theirs)).toMatchObject({ actor: 'bb'.repeat(16), seq: 1, deps: A.getHeads(reference) });
    const want = content.slice(0, 3) + 'A' + content.slice(5) + 'B\n';
    for (const [doc, change] of [[a.doc, theirs], [b.doc, mine], [restarted, mine]] as const) {
      doc.applyRemote([change]);
      if (doc === restarted) doc.applyRemote([theirs]);
      expect(doc.text).toBe(want);
      expect(crdtText(doc)).toBe(want);
    }
    A.free(reference);
    for (const d of [a.doc, b.doc, restarted]) d.free();
  });

  it('staged edits are committed before a remote update, and its op does not repeat them', () => {
    const a = TextDoc.create(FILE, 'one\n', 'aa'.repeat(16));
    const b = TextDoc.load(a.save(), [], 'bb'.repeat(16));
    const theirs = b.applyLocal(diffToOp(b.text, 'one\ntwo\n'))!;
    const committed: RawChange[] = [];
    a.commitHook = () => { const c = a.commitStaged(); if (c) committed.push(c.change); };
    a.stage(diffToOp(a.text, 'zero\none\n'));
    const before = a.text;
    const op = a.applyRemote([theirs])!;
    expect(committed).toHaveLength(1);
    expect(applyOp(before, op)).toBe('zero\none\ntwo\n');
    expect(a.text).toBe(crdtText(a));
    a.free();
    b.free();
  });

  it('a document with no history is ready once a peer\'s changes bring its text, and stays editable and in step', () => {
    // Peers' changes are applied on the handle, with the view left behind (text-doc.ts
    // `integrateOnHandle`): readiness and the text object come from the CRDT, not the view.
    const source = TextDoc.initial(FILE, 'shared\n', 'aa'.repeat(16));
    const later = edit(source.doc, 0, 0, 'x')!;
    const doc = TextDoc.empty('bb'.repeat(16));
    expect(doc.ready).toBe(false);
    expect(doc.applyRemote([later])).toBeUndefined(); // waits for the change it depends on
    expect(doc.ready).toBe(false);
    expect(doc.lacksHistory).toBe(true);
    expect(doc.applyRemote([source.change])).toEqual(['xshared\n']);
    expect(doc.ready).toBe(true);
    expect(doc.lacksHistory).toBe(false);
    edit(doc, 7, 0, '!');
    expect(doc.text).toBe('xshared!\n');
    expect(crdtText(doc)).toBe('xshared!\n');
    // A sync after changes applied on the handle reports only what the sync brought.
    const more = edit(source.doc, 1, 0, 'y')!;
    expect(doc.applyRemote([more])).toEqual([1, 'y']);
    const fresh = TextDoc.empty('cc'.repeat(16));
    let [s0, s1] = [A.initSyncState(), A.initSyncState()];
    for (let round = 0; round < 10; round++) {
      const a = doc.generateSync(s0);
      s0 = a.state;
      if (a.message) s1 = fresh.receiveSync(s1, a.message).state;
      const b = fresh.generateSync(s1);
      s1 = b.state;
      if (b.message) s0 = doc.receiveSync(s0, b.message).state;
      if (!a.message && !b.message) break;
    }
    expect(fresh.ready).toBe(true);
    expect(fresh.text).toBe('xyshared!\n');
    for (const d of [source.doc, doc, fresh]) d.free();
  });
});
