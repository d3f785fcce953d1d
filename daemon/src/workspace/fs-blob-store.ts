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
