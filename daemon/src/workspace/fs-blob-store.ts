/** The daemon's blob store (the contract is blob-store.ts): one file per blob in `.chorus/blobs/`. */
import fs from 'node:fs';
import path from 'node:path';
import { BlobStore, hashBytes } from './blob-store.js';

export class FsBlobStore extends BlobStore {
  constructor(private readonly dir: string) {
    super();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(hash: string): string {
    this.check(hash);
    return path.join(this.dir, hash);
  }

  has(hash: string): boolean {
    return fs.existsSync(this.file(hash));
  }

  /**
   * The blob's bytes, checked against its hash: a blob damaged on disk (a flipped byte, a file cut
   * short) is removed and reported missing, so it is fetched from a peer or read from the folder
   * again instead of being written into a file or sent on. A blob is never the only copy of an
   * edit (blob-store.ts), so removing it loses nothing.
   */
  get(hash: string): Uint8Array | undefined {
    let data: Uint8Array;
    try {
      data = new Uint8Array(fs.readFileSync(this.file(hash)));
    } catch {
      return undefined;
    }
    if (hashBytes(data) === hash) return data;
    fs.rmSync(this.file(hash), { force: true });
    return undefined;
  }

  /**
   * Remove every blob whose hash is not in `keep`, and temporary files a crash left; returns how
   * many blobs went and their bytes. Blobs are never the only copy of anything (blob-store.ts):
   * one wanted again is fetched from a peer or read from the folder. Without this every version
   * of every whole file stayed for good, on every member (a trial: a 10 MB file rewritten three
   * times and deleted left 29 MB behind; a writer could fill members' disks).
   */
  prune(keep: ReadonlySet<string>): { removed: number; bytes: number } {
    let removed = 0;
    let bytes = 0;
    for (const name of fs.readdirSync(this.dir)) {
      const blob = /^[0-9a-f]{64}$/.test(name);
      const leftover = !blob && /^[0-9a-f]{64}\.tmp-/.test(name);
      if (blob ? keep.has(name) : !leftover) continue; // kept, or not Chorus's
      const file = path.join(this.dir, name);
      try {
        const size = fs.statSync(file).size;
        fs.rmSync(file, { force: true });
        if (blob) {
          removed++;
          bytes += size;
        }
      } catch {
        // gone meanwhile
      }
    }
    return { removed, bytes };
  }

  /** Written under a temporary name and renamed, so a crash never leaves a torn blob. */
  protected write(hash: string, data: Uint8Array): void {
    const target = this.file(hash);
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      fs.writeFileSync(tmp, data, { mode: 0o600 });
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
}
