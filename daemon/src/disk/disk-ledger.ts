/**
 * What the daemon last saw or wrote in each file, and which folders the project folder had (so a
 * folder deleted while the daemon was stopped is told from one never made here, decision 173),
 * kept across restarts in an append-only log
 * (`.chorus/disk/ledger.jsonl`, one line per record, one `write` system call each). A write is
 * recorded before it happens, and the recent hashes before it are kept too, so after a crash at
 * any moment a file holding one of them is known to be the daemon's own content, not another
 * tool's edit — a stale file is rewritten, never diffed in (which would undo the newest typing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { copyName, pruneCopies } from '../lifecycle/kept-copies.js';

/**
 * How many recent hashes to remember per file. A watcher event is handled a little after the
 * write it reports, by which time the daemon may have written again several times while typing
 * goes on: every one of those contents must still count as the daemon's own.
 */
const KEEP = 32;
/** The log is rewritten from memory when it grows past this. */
const COMPACT_AT_BYTES = 4 * 1024 * 1024;

/**
 * A record: a file's content (`h`), a file forgotten, or a folder that is (`dir: true`) or is no
 * longer (`dir: false`) in the folder (see `foldersHad`).
 */
type Line = { p: string; h: string } | { p: string; forget: true } | { p: string; dir: boolean };

/** One record of the log, or undefined for anything else (torn, damaged, or not ours). */
function parseLine(raw: string): Line | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.p !== 'string') return undefined;
  if (o.forget === true) return { p: o.p, forget: true };
  if (typeof o.dir === 'boolean') return { p: o.p, dir: o.dir };
  return typeof o.h === 'string' ? { p: o.p, h: o.h } : undefined;
}

/**
 * Could `raw`, the last line with no newline after it, be a record a crash cut short? Every record
 * starts `{"p":"`; anything else there (a file of garbage with no newline in it) is damage, not
 * a torn write, and was passed over in silence.
 */
function tornRecord(raw: string): boolean {
  const start = '{"p":"';
  return raw.startsWith(start) || start.startsWith(raw);
}

export class DiskLedger {
  private entries = new Map<string, string[]>();
  /** Folders the project folder had when the daemon last looked or made them (see `foldersHad`). */
  private dirs = new Set<string>();
  private fd: number;
  private size = 0;
  private readonly file: string;
  private readonly log: (msg: string) => void;

  /**
   * Opens (or starts) the ledger in `dir`. A record that is not one this class writes is skipped;
   * the last line may be a record torn by a crash and is skipped silently, any other is counted,
   * and the ledger as it was is kept as `ledger.jsonl.damaged-<time>`, said once through `log`,
   * and rewritten from the records that were read. A ledger that cannot be read at all (a folder
   * in its place, no permission) is set aside the same way and the daemon starts with an empty
   * one. Either way the daemon only forgets which contents were its own: a file it wrote that
   * differs from the index is then taken in as another tool's edit (diffed in), and nothing is
   * deleted. Only the newest few copies are kept (lifecycle/kept-copies.ts, decision 153).
   */
  constructor(dir: string, log: (msg: string) => void = () => {}) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'ledger.jsonl');
    this.log = log;
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        const kept = this.keepAside('damaged');
        log(`could not read ${this.file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); it is kept as ${kept} and a new one is started: files changed while the daemon was stopped are taken in as edits`);
      }
    }
    const raws = text.split('\n');
    let skipped = 0;
    raws.forEach((raw, i) => {
      if (!raw) return;
      const line = parseLine(raw);
      // The last line may be a record torn by a crash: the write it announced never happened either.
      if (line === undefined) skipped += i === raws.length - 1 && tornRecord(raw) ? 0 : 1;
      else if ('forget' in line) this.entries.delete(line.p);
      else if ('dir' in line) {
        if (line.dir) this.dirs.add(line.p);
        else this.dirs.delete(line.p);
      } else this.push(line.p, line.h);
    });
    if (skipped > 0) {
      // Kept as it was (rewriting it below drops what could not be read), then rewritten from what
      // was read, so the next start says nothing again.
      const kept = copyName(this.file, 'damaged');
      fs.copyFileSync(this.file, kept);
      log(
        `${this.file} had ${skipped} unreadable record${skipped === 1 ? '' : 's'}, skipped: a file ${skipped === 1 ? 'it' : 'they'} described is taken in as an edit if it differs from the shared version; ` +
          `the ledger as it was is kept as ${kept} and it is rewritten from the ${this.entries.size} file${this.entries.size === 1 ? '' : 's'} it could read`,
      );
      pruneCopies(this.file, 'damaged', log);
    }
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.size = Buffer.byteLength(text);
    if (this.size > COMPACT_AT_BYTES || skipped > 0) this.compact();
  }

  /** Rename the ledger file to `<file>.<why>-<time>`, keeping only the newest few such copies; returns the new path. */
  private keepAside(why: 'stale' | 'damaged'): string {
    const kept = copyName(this.file, why);
    fs.renameSync(this.file, kept);
    pruneCopies(this.file, why, this.log);
    return kept;
  }

  private push(rel: string, hash: string): void {
    const list = this.entries.get(rel) ?? [];
    if (list[list.length - 1] === hash) return;
    list.push(hash);
    if (list.length > KEEP) list.shift();
    this.entries.set(rel, list);
  }

  private append(line: Line): void {
    const bytes = Buffer.from(JSON.stringify(line) + '\n');
    fs.writeSync(this.fd, bytes);
    this.size += bytes.length;
    if (this.size > COMPACT_AT_BYTES) this.compact();
  }

  private compact(): void {
    const tmp = `${this.file}.tmp`;
    const lines = [...this.entries].flatMap(([p, hashes]) => hashes.map((h) => JSON.stringify({ p, h })));
    for (const p of this.dirs) lines.push(JSON.stringify({ p, dir: true }));
    const text = lines.length ? lines.join('\n') + '\n' : '';
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.size = Buffer.byteLength(text);
  }

  /** Is this content one the daemon itself wrote or took in for `rel` lately? */
  knows(rel: string, hash: string): boolean {
    return this.entries.get(rel)?.includes(hash) ?? false;
  }

  /** The newest hash known for `rel`. */
  latest(rel: string): string | undefined {
    return this.entries.get(rel)?.at(-1);
  }

  record(rel: string, hash: string): void {
    if (this.latest(rel) === hash) return;
    this.push(rel, hash);
    this.append({ p: rel, h: hash });
  }

  forget(rel: string): void {
    if (!this.entries.delete(rel)) return;
    this.append({ p: rel, forget: true });
  }

  /**
   * Note that the folder `rel` (a project path) is in the project folder: seen there, or made
   * there. Recorded only once it is there: a record of a folder that never was would make the next
   * start take the session's folder for one the person deleted. (A record left behind by a crash
   * after the daemon removed a folder is harmless: such a folder is gone from the index too, and
   * every start's scan drops records of folders that are not there.)
   */
  folderHere(rel: string): void {
    if (this.dirs.has(rel)) return;
    this.dirs.add(rel);
    this.append({ p: rel, dir: true });
  }

  /**
   * Note that the folder `rel` is no longer in the project folder, nor (unless `alone`: an empty
   * folder's removal, which leaves those in it as they are if it fails) any folder in it.
   */
  folderGone(rel: string, alone = false): void {
    for (const d of [...this.dirs]) {
      if (d !== rel && (alone || !d.startsWith(rel + '/'))) continue;
      this.dirs.delete(d);
      this.append({ p: d, dir: false });
    }
  }

  /**
   * The folders the project folder had when the daemon last ran: every one recorded there
   * (`folderHere`) and every one above a recorded folder or file (a file this daemon wrote or read
   * had its folders; this also covers a ledger from before folders were recorded). A shared folder
   * missing on start that is here was deleted while the daemon was stopped; one that is not was
   * never made here (decision 173). One pass over the ledger.
   */
  foldersHad(): Set<string> {
    const out = new Set<string>();
    for (const p of [...this.dirs, ...this.entries.keys()]) {
      if (this.dirs.has(p)) out.add(p);
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
        const up = p.slice(0, i);
        if (out.has(up)) break; // and every folder above it, added with it
        out.add(up);
      }
    }
    return out;
  }

  /** Every folder recorded as in the project folder (see `folderHere`). */
  folders(): string[] {
    return [...this.dirs];
  }

  /** Every path the daemon has recorded (for finding files deleted while it was down). */
  paths(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Start over with an empty ledger, keeping the old one beside it (`ledger.jsonl.stale-<time>`)
   * for inspection: what it records no longer describes the shared state (its index was lost).
   * Returns the kept file's path.
   */
  setAside(): string {
    fs.closeSync(this.fd);
    const kept = this.keepAside('stale');
    this.entries.clear();
    this.dirs.clear();
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.size = 0;
    return kept;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
