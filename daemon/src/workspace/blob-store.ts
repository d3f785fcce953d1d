/**
 * Content addressed by sha256, in `.chorus/blobs/`: the content of files nobody has made live,
 * stored once, sent to peers as it is, and the base a file becomes live from.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

export function hashBytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export class BlobStore extends EventEmitter<{ put: [hash: string]; wanted: [hash: string] }> {
  constructor(private readonly dir: string) {
    super();
    this.setMaxListeners(0);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`invalid blob hash ${JSON.stringify(hash)}`);
    return path.join(this.dir, hash);
  }

  has(hash: string): boolean {
    return fs.existsSync(this.file(hash));
  }

  get(hash: string): Uint8Array | undefined {
    try {
      return new Uint8Array(fs.readFileSync(this.file(hash)));
    } catch {
      return undefined;
    }
  }

  /** Resolves true once the blob is here, false after `ms`. */
  async waitFor(hash: string, ms: number): Promise<boolean> {
    if (this.has(hash)) return true;
    this.emit('wanted', hash); // someone who fetches on demand (view mode) asks the peers now
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.off('put', onPut);
        resolve(ok);
      };
      const onPut = (h: string) => {
        if (h === hash) done(true);
      };
      const timer = setTimeout(() => done(this.has(hash)), ms);
      this.on('put', onPut);
    });
  }

  /** Store `data`; refuses data whose hash is not `hash` (a peer sending garbage). */
  put(data: Uint8Array, hash = hashBytes(data)): string {
    if (hashBytes(data) !== hash) throw new Error(`blob content does not match its hash ${hash.slice(0, 12)}…`);
    const target = this.file(hash);
    if (fs.existsSync(target)) return hash;
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, target);
    this.emit('put', hash);
    return hash;
  }
}
