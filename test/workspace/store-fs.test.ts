// The daemon's stores (Storage in .chorus/state, FsBlobStore in .chorus/blobs) pass the store
// acceptance suite (decision 090). "Reopen" is a new store on the same folders with the old one
// left as a crash leaves it; full-disk refusals are tested on a real full disk in
// test/disk/enospc.test.ts.
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
