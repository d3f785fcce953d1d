/**
 * What the daemon last saw or wrote in each file, and which folders the project folder had (so a
 * folder deleted while the daemon was stopped is told from one never made here, decision 173),
 * kept across restarts in an append-only log
 * (`.chorus/disk/ledger.jsonl`, one line per record, one `write` system call each). A write is
 * recorded before it happens, and the recent hashes before it are kept too, so after a crash at
 * any moment a file holding one of them is known to be the daemon's own content, not another
 * tool's edit — a stale file is rewritten, never diffed in (which would undo the newest typing).
 *
 * With each content of a live text it also keeps, when known, the heads of the file's document
 * (Automerge change hashes) at which the folder got that content: the document's text there is
 * that content, so after a restart the text the folder last had is found in the document's
 * history, and an outside edit made while the daemon was down is diffed from it, not from the
 * newer text the folder never had (decision 200). A ledger written before heads were kept loads
 * as it is; its contents simply have none.
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
 * Heads are kept with this many of a file's newest contents only: a base is looked for at the
 * newest (which a failed write may have put back, see `headsOf`); older ones only need to be
 * recognised. This bounds what a file's entry holds however many peers' changes its heads name.
 */
const HEADS_KEPT = 4;
/**
 * A record names at most this many heads (one per peer that typed at once, usually one or two);
 * a content reached at more is kept without them (its base is then found as before it had any).
 */
export const MAX_HEADS = 16;
/** An Automerge change hash: 32 bytes in lowercase hex. */
const CHANGE_HASH = /^[0-9a-f]{64}$/;

/** One content a file had, with the document heads at which the folder got it, when known. */
interface Content {
  h: string;
  at?: string[];
}

/**
 * A record: a file's content (`h`, and `at`: the document's heads at which the folder got it, when
 * known), a file forgotten, or a folder that is (`dir: true`) or is no longer (`dir: false`) in the
 * folder (see `foldersHad`).
 */
type Line = { p: string; h: string; at?: string[] } | { p: string; forget: true } | { p: string; dir: boolean };

/** Are these a record's heads: 1 to MAX_HEADS change hashes? */
function validHeads(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.length <= MAX_HEADS && v.every((h) => typeof h === 'string' && CHANGE_HASH.test(h));
}

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
  if (typeof o.h !== 'string') return undefined;
  if (o.at === undefined) return { p: o.p, h: o.h }; // also every record from before heads were kept
  return validHeads(o.at) ? { p: o.p, h: o.h, at: o.at } : undefined;
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

/** Written beside the ledger when the daemon stops after its last write landed (see `crashLeftover`). */
const CLEAN_STOP = 'stopped-cleanly';

export class DiskLedger {
  /** Per file, its recent contents, oldest first (at most KEEP). */
  private entries = new Map<string, Content[]>();
  /**
   * Per file, the content before the newest when the ledger was opened, if the daemon that wrote
   * it did not stop cleanly (see `crashLeftover`); empty after a clean stop.
   */
  private leftovers = new Map<string, string>();
  private readonly dir: string;
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
    this.dir = dir;
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
      } else this.push(line.p, line.h, line.at);
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
    // The mark goes now: a crash of this run must not pass for a clean stop at the next start.
    const marked = path.join(dir, CLEAN_STOP);
    const cleanly = fs.existsSync(marked);
    fs.rmSync(marked, { force: true });
    if (!cleanly) for (const [p, list] of this.entries) if (list.length > 1) this.leftovers.set(p, list.at(-2)!.h);
  }

  /**
   * The content `rel` may still hold from a write the last run recorded but never made: a daemon
   * killed between recording a write and the write landing leaves the folder with the content
   * before the newest (writes of a file are one at a time, so only that one). Undefined when the
   * last run stopped cleanly (`close`: every write landed, so an older content in the folder is
   * a person's, `git checkout` while Chorus was stopped) or `rel` has no older content.
   */
  crashLeftover(rel: string): string | undefined {
    return this.leftovers.get(rel);
  }

  /** Rename the ledger file to `<file>.<why>-<time>`, keeping only the newest few such copies; returns the new path. */
  private keepAside(why: 'stale' | 'damaged'): string {
    const kept = copyName(this.file, why);
    fs.renameSync(this.file, kept);
    pruneCopies(this.file, why, this.log);
    return kept;
  }

  /** Note `hash` as the newest content of `rel`; `heads` (if any) replace those of a newest that is already `hash`. */
  private push(rel: string, hash: string, heads?: string[]): void {
    const list = this.entries.get(rel) ?? [];
    const last = list.at(-1);
    if (last?.h === hash) {
      if (heads !== undefined) last.at = heads;
      return;
    }
    list.push(heads === undefined ? { h: hash } : { h: hash, at: heads });
    if (list.length > KEEP) list.shift();
    const old = list.at(-1 - HEADS_KEPT);
    if (old !== undefined) delete old.at;
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
    const lines = [...this.entries].flatMap(([p, contents]) => contents.map(({ h, at }) => JSON.stringify(at === undefined ? { p, h } : { p, h, at })));
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
    return this.entries.get(rel)?.some((c) => c.h === hash) ?? false;
  }

  /** The newest hash known for `rel`. */
  latest(rel: string): string | undefined {
    return this.entries.get(rel)?.at(-1)?.h;
  }

  /**
   * The heads of `rel`'s document at which the folder got the content `hash` (the newest record
   * of it that has heads: every such record names a state with that text), or undefined when
   * none were recorded (a whole file, a ledger from before heads were kept, a content older than
   * the newest few). They name a state of the document of the file that was at `rel` then: the
   * caller checks the text there against `hash` before trusting it.
   */
  headsOf(rel: string, hash: string): string[] | undefined {
    const list = this.entries.get(rel) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.h === hash && list[i]!.at !== undefined) return list[i]!.at;
    return undefined;
  }

  /**
   * Note that `rel` holds (or is about to hold) the content `hash`; `heads`, when known, are the
   * document's heads whose text it is (more than MAX_HEADS are not kept). Recording the newest
   * content again only adds heads it had none of.
   */
  record(rel: string, hash: string, heads?: readonly string[]): void {
    const at = heads !== undefined && validHeads(heads) ? [...heads] : undefined;
    if (this.latest(rel) === hash && (at === undefined || this.entries.get(rel)!.at(-1)!.at !== undefined)) return;
    this.push(rel, hash, at);
    this.append(at === undefined ? { p: rel, h: hash } : { p: rel, h: hash, at });
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

  /** Close the log. `cleanly`: every write the ledger names has landed (the daemon flushed them), see `crashLeftover`. */
  /** The newest content hash of every file the ledger knows (what the folder holds, as far as it knows). */
  latestHashes(): Set<string> {
    const all = new Set<string>();
    for (const list of this.entries.values()) {
      const h = list.at(-1)?.h;
      if (h !== undefined) all.add(h);
    }
    return all;
  }

  close(cleanly = false): void {
    fs.closeSync(this.fd);
    if (cleanly) fs.writeFileSync(path.join(this.dir, CLEAN_STOP), '', { mode: 0o600 });
  }
}
