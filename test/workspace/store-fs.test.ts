// The daemon's stores (Storage in .chorus/state, FsBlobStore in .chorus/blobs) pass the store
// acceptance suite (decision 090). "Reopen" is a new store on the same folders with the old one
// left as a crash leaves it; full-disk refusals are tested on a real full disk in
// test/disk/enospc.test.ts.
import * as A from '@automerge/automerge/next';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../daemon/src/workspace/fs-blob-store.js';
import { Storage } from '../../daemon/src/workspace/storage.js';
import { storeAcceptance, type StoreUnderTest } from './store-acceptance.js';

const open: StoreUnderTest[] = [];
const dirs = new Map<StoreUnderTest, string>();
const folders: string[] = [];

function at(dir: string, notice: (msg: string) => void): StoreUnderTest {
  const s = { docs: new Storage(path.join(dir, 'state'), notice), blobs: new FsBlobStore(path.join(dir, 'blobs')) };
  open.push(s);
  dirs.set(s, dir);
  return s;
}

storeAcceptance(
  'Storage + FsBlobStore',
  {
    async open(notice) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-store-'));
      folders.push(dir);
      return at(dir, notice);
    },
    async reopen(previous, notice) {
      return at(dirs.get(previous)!, notice);
    },
    async dispose() {
      for (const s of open.splice(0)) s.docs.close();
      dirs.clear();
      for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
  },
  { describe, it, expect },
);

describe('FsBlobStore on a damaged disk', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a blob whose file no longer matches its hash is reported missing and removed, not given out', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-blobs-'));
    dirs.push(dir);
    const blobs = new FsBlobStore(dir);
    const hash = blobs.put(new TextEncoder().encode('the real content\n'));
    const file = path.join(dir, hash);
    const bytes = fs.readFileSync(file);
    bytes[3] = bytes[3]! ^ 0x01; // one flipped bit
    fs.writeFileSync(file, bytes);
    expect(new FsBlobStore(dir).get(hash)).toBe(undefined);
    expect(fs.existsSync(file)).toBe(false);
    expect(blobs.has(hash)).toBe(false);
    // and it can be stored again when a peer or the folder brings it
    expect(blobs.put(new TextEncoder().encode('the real content\n'))).toBe(hash);
    expect(new TextDecoder().decode(blobs.get(hash))).toBe('the real content\n');
  });
});

describe('Storage: a log that ends in a torn record (decision 217)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A text document's changes, one per edit. */
  function edits(...texts: string[]): Uint8Array[] {
    let doc = A.change(A.init<{ text: string }>({ actor: 'aa'.repeat(16) }), (d) => {
      d.text = '';
    });
    const out = [A.getLastLocalChange(doc)!];
    for (const t of texts) {
      doc = A.change(doc, (d) => A.splice(d, ['text'], d.text.length, 0, t));
      out.push(A.getLastLocalChange(doc)!);
    }
    return out;
  }
  const build = (snap: Uint8Array | undefined, changes: Uint8Array[]): string => {
    let doc = snap ? A.load<{ text: string }>(snap) : A.init<{ text: string }>();
    if (changes.length) [doc] = A.applyChanges(doc, changes);
    return doc.text ?? '';
  };

  /** A state folder whose log of f1 holds `changes`, the last of them cut short by `cut` bytes (as a power loss leaves it). */
  function tornLog(changes: Uint8Array[], cut: number): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-torn-'));
    dirs.push(dir);
    const first = new Storage(dir);
    first.append('f1', changes);
    first.close();
    const log = path.join(dir, 'f1.log');
    fs.truncateSync(log, fs.statSync(log).size - cut);
    return dir;
  }

  it.each([
    ['read first (the document is opened, then edited)', true],
    ['appended to without being read (a peer change to a document not loaded)', false],
  ])('the torn tail is cut off and kept aside before anything is appended; the next start loads everything: %s', (_how, readFirst) => {
    const all = edits('one ', 'two ', 'three ', 'four');
    const dir = tornLog(all.slice(0, 3), 3); // "two " torn
    const notices: string[] = [];
    const second = new Storage(dir, (m) => notices.push(m));
    if (readFirst) expect(second.open('f1', build)).toBe('one ');
    // The torn change comes back (from a peer) and later ones follow it.
    second.append('f1', all.slice(2));
    second.close();
    // The next start loads every change, quietly, and sets nothing aside as damaged.
    const later: string[] = [];
    const third = new Storage(dir, (m) => later.push(m));
    expect(third.load('f1').changes).toEqual(all);
    expect(third.open('f1', build)).toBe('one two three four');
    expect(later).toEqual([]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('damaged'))).toEqual([]);
    third.close();
    // The torn bytes are kept beside the log, and the notice names them.
    expect(notices.length).toBe(1);
    expect(notices[0]).toContain('f1');
    expect(notices[0]).toContain('partial record');
    expect(notices[0]).toContain('power loss');
    const torn = fs.readdirSync(dir).filter((f) => f.startsWith('f1.log.torn-'));
    expect(torn.length).toBe(1);
    expect(notices[0]).toContain(torn[0]);
    expect(fs.statSync(path.join(dir, torn[0]!)).size).toBe(4 + all[2]!.length - 3);
  });

  it('a torn edit mark is cut off the same way, and later marks are found after a restart', () => {
    const all = edits('a');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-torn-'));
    dirs.push(dir);
    const first = new Storage(dir);
    first.append('f1', all, 'ed1-1');
    first.close();
    const log = path.join(dir, 'f1.log');
    fs.truncateSync(log, fs.statSync(log).size - 2);
    const notices: string[] = [];
    const second = new Storage(dir, (m) => notices.push(m));
    expect(second.open('f1', build)).toBe('a');
    expect(second.hasMark('f1', 'ed1-1')).toBe(false);
    second.append('f1', [], 'ed1-2');
    second.close();
    expect(notices.length).toBe(1);
    const third = new Storage(dir);
    expect(third.load('f1').changes).toEqual(all);
    expect(third.hasMark('f1', 'ed1-2')).toBe(true);
    third.close();
  });
});
