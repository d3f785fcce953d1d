/**
 * What the daemon last saw or wrote in each file, kept across restarts (`.chorus/disk/`). A write
 * is recorded before it happens, and the recent hashes before it are kept too, so after a crash at any moment
 * a file holding either is known to be the daemon's own content, not another tool's edit — a
 * stale file is rewritten, never diffed in (which would undo the newest typing).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * How many recent hashes to remember per file. A watcher event is handled a little after the
 * write it reports, by which time the daemon may have written again several times while typing
 * goes on: every one of those contents must still count as the daemon's own.
 */
const KEEP = 32;

interface Entry {
  path: string;
  hashes: string[];
}

export class DiskLedger {
  private cache = new Map<string, Entry>();

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(rel: string): string {
    return path.join(this.dir, createHash('sha1').update(rel).digest('hex'));
  }

  private entry(rel: string): Entry | undefined {
    let e = this.cache.get(rel);
    if (!e) {
      try {
        e = JSON.parse(fs.readFileSync(this.file(rel), 'utf8')) as Entry;
        if (e.path !== rel) return undefined;
        this.cache.set(rel, e);
      } catch {
        return undefined;
      }
    }
    return e;
  }

  /** Is this content one the daemon itself wrote or took in for `rel`? */
  knows(rel: string, hash: string): boolean {
    return this.entry(rel)?.hashes.includes(hash) ?? false;
  }

  /** The newest hash known for `rel`. */
  latest(rel: string): string | undefined {
    const h = this.entry(rel)?.hashes;
    return h?.[h.length - 1];
  }

  record(rel: string, hash: string): void {
    const old = this.entry(rel);
    if (old?.hashes[old.hashes.length - 1] === hash) return;
    const e = { path: rel, hashes: [...(old?.hashes.slice(-(KEEP - 1)) ?? []), hash] };
    this.cache.set(rel, e);
    const target = this.file(rel);
    fs.writeFileSync(`${target}.tmp`, JSON.stringify(e), { mode: 0o600 });
    fs.renameSync(`${target}.tmp`, target);
  }

  forget(rel: string): void {
    this.cache.delete(rel);
    fs.rmSync(this.file(rel), { force: true });
  }

  /** Every path the daemon has recorded (for finding files deleted while it was down). */
  paths(): string[] {
    const out: string[] = [];
    for (const f of fs.readdirSync(this.dir)) {
      if (f.endsWith('.tmp')) continue;
      try {
        out.push((JSON.parse(fs.readFileSync(path.join(this.dir, f), 'utf8')) as Entry).path);
      } catch {
        // torn file from a crash: ignore
      }
    }
    return out;
  }
}
