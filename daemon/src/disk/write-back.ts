/**
 * Writes shared content to the project folder: live text shortly after it changes (a burst of
 * keystrokes becomes a few writes of the latest text), and whole files when asked. Writes of one
 * path are serialised, so an older content never lands after a newer one. It remembers the hash
 * of what it wrote, so the watcher can tell the daemon's own writes from other tools'.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Project } from '../project.js';
import { hashBytes } from '../workspace/blob-store.js';
import { contentHash } from '../workspace/text-doc.js';
import type { TextSource } from '../text/rope.js';
import { isPeersOrSettling, type MadeOn, type Origin, type Workspace } from '../workspace/workspace.js';
import type { DiskLedger } from './disk-ledger.js';
import { decodeText } from '../text/decode-text.js';
import fastDiff from 'fast-diff';
import { ChangedMeanwhile, FolderWriter, inWords, WriteRefused } from './folder-writer.js';
import { keptHereMessage, leftAsFolderHasIt, PendingContent } from './pending-content.js';
import { fileIdentity, hashOfFile, lstatNow, MAX_SHARED_FILE } from './files.js';
import { IgnoreRules, isIgnoreFile, MAX_IGNORE_FILE_BYTES } from './ignore-rules.js';
import { isStagedVersion, recentlyStashed } from './git-staged.js';
import { RenamedHere } from './renamed-here.js';
import { testTimings } from '../session/test-timings.js';

/**
 * When live text is written: once it has been quiet this long, so a burst of typing becomes one
 * write (each costs a dozen system calls here and a round of watcher events), soon enough that
 * tools see what editors see at once...
 */
const QUIET_MS = 100;
/**
 * ...and, while typing goes on without such a pause, at least this often. (It was a write every
 * 100 ms however fast the typing: at 30 keystrokes/s that was a third of a write per keystroke,
 * the largest share of a daemon's CPU per keystroke; see decision 033.)
 */
const MAX_WAIT_MS = 1000;
/**
 * How long after an editor's own write was due (`editorWriting`) its text, found in the folder, is
 * still taken for that write: the watcher reports a change after some quiet, and a loaded machine
 * is slower.
 */
const EDITOR_WRITE_SEEN_MS = 3000;
/** How many declared editor writes of one path are looked for at once (see `editorWriting`). */
const EDITOR_WRITES_KEPT = 4;

/**
 * How long a tool may take between reading a file and putting its new content in place, for
 * `baseFor`: a content the folder held within this long of the tool's write may be what the tool
 * read (a `sed -i` that read it just before a write-back replaced it). Generous for a loaded
 * machine; a longer-held content is only a candidate, chosen when it fits the tool's change best.
 */
const TOOL_RACE_MS = 3000;
/** How many of a loaded file's recent folder contents `baseFor` may choose from. */
const HISTORY = 8;
/** At most this many paths' late writes taken in are remembered (`lateTakenOver`); the oldest goes first. */
const MAX_LATE_TAKEN = 256;

/**
 * How many lines one must delete and insert to turn `from` into `to` (a line diff: each distinct
 * line becomes one character for fast-diff). Lines, not characters: `B20` and `B21` are one
 * character apart but different lines, and a character count made an older content look closer.
 */
function linesChanged(from: string, to: string): number {
  const codes = new Map<string, string>();
  const code = (line: string) => {
    let c = codes.get(line);
    if (c === undefined) {
      c = String.fromCharCode(0xe000 + (codes.size % 0x1800)) + String.fromCharCode(0xe000 + Math.floor(codes.size / 0x1800));
      codes.set(line, c);
    }
    return c;
  };
  const enc = (t: string) => t.split('\n').map(code).join('');
  let n = 0;
  for (const [kind, text] of fastDiff(enc(from), enc(to))) if (kind !== fastDiff.EQUAL) n += text.length / 2;
  return n;
}

/** Past this many characters (the three texts together) a tie by lines is not broken by characters: the newest stays. */
const TIE_CHAR_DIFF_MAX = 400_000;

/**
 * Whether the tool's new text `now` is fewer characters (deleted and inserted) from `a` than from
 * `b`: a tool that read `b` kept what `b` has that `a` lacks (a peer's keys a write-back brought),
 * and one that read `a` lacks it. Used only on a tie by lines (decision 263); false past
 * TIE_CHAR_DIFF_MAX, where the character diffs could take long.
 */
function closerByCharacters(a: string, b: string, now: string): boolean {
  if (a.length + b.length + now.length > TIE_CHAR_DIFF_MAX) return false;
  const chars = (from: string) => {
    let n = 0;
    for (const [kind, text] of fastDiff(from, now)) if (kind !== fastDiff.EQUAL) n += text.length;
    return n;
  };
  return chars(a) < chars(b);
}

/** What the folder's tools change, as the workspace names it (as FolderSync's take-ins). */
const DISK = { kind: 'disk' } as const;

function stampOf(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`; // the mode: a chmod is a change too
}

/** A person's own version of `path` copied to `kept` (relative to the project folder) before the session's replaced it. */
export interface KeptCopy {
  path: string;
  kept: string;
  /** For the person: what happened, where their version is, what to do. */
  message: string;
  /** How the editor shows it: a warning unless said (a peer's ordinary deletion is news, not a fault). */
  type?: 'info' | 'warning';
}

/** How `WriteBack.writeNow` writes. */
export interface WriteOptions {
  /** Write even if `data` is what the daemon last wrote there. */
  force?: boolean;
  /** `data` decoded, when the caller has it (saves decoding it again). */
  text?: string;
  /** The id of the live file whose text `data` is (its heads go in the ledger with it). */
  liveId?: string;
  /** Asked after a test's write delay (`CHORUS_TEST_WRITE_DELAY_MS`): false skips the write. */
  wanted?: () => boolean;
}

/** The log's words when a read-only member's deleted or renamed `path` is written back with a writer's change. */
export function readOnlyWrittenBack(path: string): string {
  return `wrote ${path} back with a writer's change: it was gone from this folder (deleted or renamed here), but you joined this session read-only, so that is not shared, and the session's newer version is written back`;
}

/** What a read-only member is told when its own version of `path` gave way to the session's, kept at `kept`. */
export function keptReadOnlyMessage(path: string, kept: string): string {
  return `${path}: you joined this session read-only, so your own version of it is not shared; the session's version replaced it in the folder (and in any editor that has it open). Your text is kept in ${kept}: copy what you need from there, or ask a member who can write to make the change.`;
}

/** Who put a content in the folder: a write of the daemon's, or anything else (taken in from the folder). */
type FolderContentBy = 'daemon' | 'folder';

export class WriteBack {
  /** Live files waiting to be written: the timer, and when the first unwritten change came. */
  private pending = new Map<string, { timer: NodeJS.Timeout; since: number; origin: Origin | undefined }>();
  private running = new Map<string, Promise<void>>();
  /**
   * The text a file in memory last had in the folder (written or read by the daemon), with its
   * hash: the base an outside edit is diffed from, so edits that arrived after it are not undone.
   * Kept only while the file's document is loaded; any other file's base is found again from the
   * ledger's hash (see `baseText`), so untouched files' content stays on disk (issue 13).
   */
  private onDisk = new Map<string, { hash: string; text: string }>();
  /**
   * The contents a loaded file has had in the folder lately, oldest first, each with when it came
   * to be there (a write of the daemon's landed, or the daemon took the folder's content in). Only
   * contents that were in the folder for sure: a write in flight is not here until it lands. A tool
   * that read the file just before a write-back replaced it made its change on an older one of
   * these, not on the newest (see `baseFor`, decision 148).
   */
  private history = new Map<string, Array<{ hash: string; text: string; at: number; file: string | undefined; by: FolderContentBy }>>();
  /** What the daemon recorded per path lately, in order (see `isOwn`). */
  private recent = new Map<string, Array<{ hash: string; gen: number }>>();
  /**
   * Per path, the hash of a read-only member's own change a copy of which was just kept in
   * `.chorus/kept` before the session's content is written over it (see `holdsOwnChange`).
   */
  private keptAside = new Map<string, string>();
  /** Per path, the generation of the newest content that is in the folder for sure. */
  private landed = new Map<string, number>();
  /**
   * Per path, the content the ledger named for it when this run recorded its first write of it:
   * until a write of this run lands, the folder still holds that content (see `isOwn`). After a
   * restart nothing else says so: `landed` and `recent` know only this run's contents.
   */
  private heldAtStart = new Map<string, string>();
  /**
   * Per path, the file's identity (inode, size, mtime) right after the daemon's last write. A
   * file that still has it is exactly what the daemon wrote: no need to read and hash it again.
   */
  private stamps = new Map<string, string>();
  private generation = 0;
  /** When true, nothing is written (view mode: buffers only). */
  disabled = false;
  /**
   * The daemon's document store (Storage), set by the daemon: a live text is written to the
   * folder only once its log's changes are fsynced (decision 217). Unset (tests that build a
   * WriteBack alone): written at once.
   */
  durable: { synced(id: string): boolean; whenSynced(id: string): Promise<void> } | undefined;
  /**
   * Told each time a person's own version of a file was copied to `.chorus/kept/` before the
   * session's replaced it (the daemon tells its editors: session/notice, decision 184). Set by the
   * daemon; nothing is told before.
   */
  onKept: ((k: KeptCopy) => void) | undefined;
  /** The one writer of the project folder (FolderWriter): the session's Materializer and FolderSync write through it too. */
  readonly folder: FolderWriter;
  /**
   * Whether a file of the index is written now or waits for its blob (decision 110): one per
   * daemon, used by FolderSync (files the folder lacks on start) and the Materializer (peers').
   */
  readonly pendingContent: PendingContent;
  /**
   * Takes in a file that another tool changed and the daemon has not read yet. Called before
   * overwriting such a file, so the tool's edit becomes a change instead of being lost.
   */
  takeForeign: ((path: string) => Promise<void>) | undefined;
  /**
   * What this folder keeps to itself (.gitignore, .chorus/ignore, the built-in rules): the
   * daemon's one set, which FolderSync reads and updates. A peer may still share such a path (its
   * own rules let it, decision 145), and its version is written here where this folder has none;
   * but a file this folder has there, not as the daemon wrote it, is never written over: the
   * watcher never takes it in, so it would be lost.
   */
  readonly rules: IgnoreRules;

  /** A test's wait before each write that changes the folder (test-timings.ts `CHORUS_TEST_WRITE_DELAY_MS`); 0 otherwise. */
  private readonly writeDelayMs = testTimings().writeDelayMs ?? 0;

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    readonly ledger: DiskLedger,
    private readonly log: (msg: string) => void,
  ) {
    this.folder = new FolderWriter(project, ledger);
    this.rules = new IgnoreRules(project.root);
    // One daemon per project (the lock): what `.chorus/tmp/` holds now, a crash left.
    this.folder.clearTemp();
    this.pendingContent = new PendingContent(project, workspace, this, log);
    // A file an editor created is in the folder at once (else the editor's own save of the new
    // file would look like a second file made at that path).
    workspace.on('files', (e) => {
      // A `.gitignore` moved away (a peer's `git mv` of its folder) is one gone from its old place.
      for (const p of [...e.created, ...e.changed, ...e.deleted, ...e.renamed.flatMap((r) => [r.from, r.to])]) this.noteRulesChange(p, e.origin);
      if (e.origin.kind !== 'editor') return;
      for (const p of e.created) {
        const id = workspace.index.idOf(p);
        const data = id ? workspace.content(id) : undefined;
        if (data) void this.writeNow(p, data);
      }
    });
  }

  /**
   * `.gitignore` files whose latest change came from a peer (decision 136): when such a change
   * stops ignoring files this folder has, they are not shared for it (FolderSync keeps them local).
   */
  private readonly rulesFromPeer = new Set<string>();

  /**
   * Per `.gitignore` a peer's change is about to be written over: the text the folder held
   * before the first such change since the person's own (none where it had no such file: the
   * first rules it receives are its own, as FolderSync decides). Read here,
   * before the write, because FolderSync learns of the change only from the folder, after it:
   * its rules as last read may be gone by then (another `.gitignore` of the same change cleared
   * them), and reading the file again gave the peer's version, whose removed rules were then kept
   * nowhere (a security review, decision 213).
   */
  private readonly rulesBeforePeer = new Map<string, string>();

  /** Note who made the latest change of `path`, if it is a `.gitignore`. */
  private noteRulesChange(path: string, origin: Origin): void {
    if (!isIgnoreFile(path)) return;
    // The daemon's own settling moves a file of the session or of this folder: it counted as a
    // peer's change before it had a kind of its own, and still does.
    if (isPeersOrSettling(origin)) {
      this.rulesFromPeer.add(path);
      const text = this.rulesBeforePeer.has(path) ? undefined : this.folderText(path);
      if (text !== undefined) this.rulesBeforePeer.set(path, text);
    } else {
      this.rulesFromPeer.delete(path);
      this.rulesBeforePeer.delete(path);
    }
  }

  /** The text of the folder's file at `path` now (a `.gitignore`, at most MAX_IGNORE_FILE_BYTES), or undefined when it has none there. */
  private folderText(path: string): string | undefined {
    try {
      const abs = this.project.absolute(path);
      const st = fs.lstatSync(abs);
      return st.isFile() && st.size <= MAX_IGNORE_FILE_BYTES ? fs.readFileSync(abs, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The text the `.gitignore` at `path` had in the folder before a peer's change was first
   * written over it; undefined when no peer's change was written over one since the person's own.
   */
  textBeforePeer(path: string): string | undefined {
    return this.rulesBeforePeer.get(path);
  }

  /**
   * Did a peer make the `.gitignore` at `path` what the folder has now? True when its latest
   * change came from a peer and the folder holds what the daemon wrote for it (`hash`; undefined:
   * the file is gone), not something the person wrote there since.
   */
  rulesChangedByPeer(path: string, hash: string | undefined): boolean {
    if (!this.rulesFromPeer.has(path)) return false;
    return hash === undefined ? !this.workspace.index.idOf(path) : this.isOwn(path, hash);
  }

  /**
   * Is this content of `path` the daemon's own (written or taken in by it)? The newest is. An
   * older one only when the folder may hold it still: while a write is in flight, the content
   * that landed before it and any recorded since (`mayHold`); a read that began while the daemon
   * went on writing (`since`, from `since(path)`), what was newest then or written after; read
   * before this run's first write of it landed, the content the ledger named before that write
   * (`heldAtStart`); and, until this run has put anything in the file, the content a crash of the last run left
   * (`DiskLedger.crashLeftover`). Any other content the daemon had once is a person putting it
   * back (`git checkout`, `git stash`, undo in another editor): a change, taken in.
   */
  isOwn(path: string, hash: string, since?: number): boolean {
    if (this.ledger.latest(path) === hash) return true;
    if (since !== undefined && this.recent.get(path)?.some((r) => r.gen >= since && r.hash === hash)) return true;
    if (this.running.has(path) && this.mayHold(path).includes(hash)) return true;
    // Read before this run's first write of the file landed: the folder held what it held at start.
    if ((since ?? this.since(path)) === 0 && this.heldAtStart.get(path) === hash) return true;
    return this.crashLeftover(path, hash, since);
  }

  /**
   * Is `hash` the content a crash of the last run left in `path` (a write recorded, never made),
   * read before this run put anything there (`since`: when the read began, see `since`)? Such a
   * file is stale, not edited: it is rewritten, never diffed in (that would undo the acknowledged
   * edit the lost write carried).
   */
  crashLeftover(path: string, hash: string, since = this.since(path)): boolean {
    return since === 0 && this.ledger.crashLeftover(path) === hash;
  }

  /**
   * The contents `path` may hold in the folder now, as far as the daemon knows: the newest it
   * recorded, and while a write is in flight the one that landed before it (and any recorded
   * since). A file that a tool moved away from `path` holds one of these, whatever edits the
   * shared text has had since (FolderSync tells a rename by them).
   */
  mayHold(path: string): string[] {
    const latest = this.ledger.latest(path);
    const out = latest === undefined ? [] : [latest];
    if (!this.running.has(path)) return out;
    const landed = this.landed.get(path);
    for (const r of this.recent.get(path) ?? []) if (landed !== undefined && r.gen >= landed && !out.includes(r.hash)) out.push(r.hash);
    const atStart = landed === undefined ? this.heldAtStart.get(path) : undefined;
    if (atStart !== undefined && !out.includes(atStart)) out.push(atStart);
    return out;
  }

  /**
   * Take before reading a file; pass to `isOwn` with what was read. It is the generation of the
   * newest content known to be in the folder (not one still being written), so a read that
   * raced a write still recognises what was there before.
   */
  since(path: string): number {
    return this.landed.get(path) ?? 0;
  }

  private note(path: string, hash: string): number {
    const list = this.recent.get(path) ?? [];
    const gen = ++this.generation;
    list.push({ hash, gen });
    if (list.length > 32) list.shift();
    this.recent.set(path, list);
    return gen;
  }

  /**
   * Remember that `path` now holds content with this hash (taken in from disk); `content`, the
   * bytes or their text, is kept as the file's base only while its document is in memory.
   */
  remember(path: string, hash: string, content?: Uint8Array | string, file?: string): void {
    // Heads only with the content: a take-in records the hash before it merges (see `tookIn`).
    this.ledger.record(path, hash, content === undefined ? undefined : this.headsOf(path, hash));
    this.landed.set(path, this.note(path, hash));
    this.keepBase(path, hash, content);
    if (content !== undefined) this.inFolder(path, hash, content, file);
  }

  /**
   * The heads of `path`'s document when its text is the content `hash` (`text`, if the caller has
   * it) and the document is in memory: recorded in the ledger with that content, so the text is
   * found in the document's history after a restart (`baseText`, decision 200). Undefined
   * otherwise; nothing is loaded for it.
   */
  private headsOf(path: string, hash: string, text?: string, fileId = this.workspace.index.idOf(path)): string[] | undefined {
    return fileId === undefined ? undefined : this.workspace.headsIf(fileId, hash, text);
  }

  /**
   * The folder holds `hash` at `path`, taken in just now: if the file's document has that very
   * text now (the take-in added nothing of its own to merge), its heads are recorded with it.
   */
  tookIn(path: string, hash: string): void {
    if (this.ledger.latest(path) !== hash) return;
    const heads = this.headsOf(path, hash);
    if (heads !== undefined) this.ledger.record(path, hash, heads);
  }

  /**
   * `content` (with this hash) is in the folder at `path` now, for sure: a candidate base of the
   * next outside edit. `by`: whether a write of the daemon's put it there, or something else did
   * (a tool, an editor; taken in), which `baseFor` needs to know.
   */
  inFolder(path: string, hash: string, content: Uint8Array | string | undefined, file?: string, by: FolderContentBy = 'folder'): void {
    const id = this.workspace.index.idOf(path);
    const text = content === undefined || !id || !this.workspace.isLoaded(id) || content.length > this.workspace.liveLimit ? null : typeof content === 'string' ? content : decodeText(content);
    if (text === null) {
      this.history.delete(path);
      return;
    }
    const list = this.history.get(path) ?? [];
    if (list.at(-1)?.hash !== hash) list.push({ hash, text, at: Date.now(), file, by });
    if (list.length > HISTORY) list.shift();
    this.history.set(path, list);
    if (this.history.size > 2 * this.workspace.loaded + 64) {
      for (const [p] of this.history) {
        const pid = this.workspace.index.idOf(p);
        if (!pid || !this.workspace.isLoaded(pid)) this.history.delete(p);
      }
    }
  }

  /**
   * The text an outside edit of `path` (now `bytes`, in the file `file` (files.ts fileIdentity) last modified at
   * `mtimeMs`) was made on, with its hash. Usually the newest content known to be in the folder.
   * But a write-back of the daemon may have replaced the file while a tool was changing it:
   * - a tool that changed the file in place (`>>`, an editor saving in place) changed the content
   *   of that very file: when it is still the file the newest content was in (the same inode,
   *   and born at the same time: an inode number freed by a rename is soon another file's), that is the base;
   * - a tool that rewrites the file (read, change, write elsewhere, rename over it: `sed -i`, many
   *   editors) may have read it just before the write-back landed: its change was made on the
   *   content before. Every content the folder held within TOOL_RACE_MS of the tool's write, with
   *   only writes of the daemon's after it, is a candidate, and the one the new content is
   *   closest to (fewest lines changed) is the base; on a tie, the closest by characters, and
   *   then the newest (decision 263). A content some other
   *   tool replaced is no candidate: the tool whose write this is read what that one left, or it
   *   raced it, and then, as without Chorus, the later write wins (`echo >> f` then
   *   `git checkout -- f`: diffed from the content before the append, the checkout kept it). A content equal to the new one is not a candidate unless it is the
   *   newest: a tool putting back an older content (`git checkout`, undo) is a change
   *   (disk-whole-files-and-conflicts.md);
   * - git putting its staged version back (`checkout -- f`, `reset --hard`) read nothing: the
   *   newest is the base (decision 223), unless the newest stash, made just then, saved one of
   *   the candidates: `git stash` read that one, and its reset replaced it (decision 261).
   * Diffed from the newest instead, the tool's change undid what the write-back brought (a peer's
   * lines deleted, or added twice once taken in again). Decision 148.
   * With it, `heads`: the document's heads at which the folder got that content, when the ledger
   * has them, so that what arrived since is read from the document's history (decision 253).
   */
  baseFor(path: string, bytes: Uint8Array, mtimeMs: number, file?: string): { text: string; hash: string; heads?: string[] } | undefined {
    const chosen = this.chooseBase(path, bytes, mtimeMs, file);
    if (chosen === undefined) return undefined;
    const heads = this.ledger.headsOf(path, chosen.hash);
    return heads === undefined ? { text: chosen.text, hash: chosen.hash } : { text: chosen.text, hash: chosen.hash, heads };
  }

  /** `baseFor` without the heads. */
  private chooseBase(path: string, bytes: Uint8Array, mtimeMs: number, file?: string): { text: string; hash: string } | undefined {
    const list = this.history.get(path);
    const latest = this.ledger.latest(path);
    const newest = list?.at(-1);
    // The history does not know the ledger's newest, and no write of it is in flight: another route
    // recorded it (a rename, a file not in memory then). The ledger's newest it is.
    if (!list || !newest || (latest !== undefined && !list.some((e) => e.hash === latest) && !this.running.has(path))) {
      const text = this.baseText(path);
      return text === undefined || latest === undefined ? undefined : { text, hash: latest };
    }
    const now = decodeText(bytes);
    if (now === null || list.length === 1) return newest;
    const hash = hashBytes(bytes);
    let best = newest;
    /** The contents before the newest this tool may have read, newest first. */
    const older: typeof list = [];
    // Still the file the newest content was in: changed in place, on that content. (Only the
    // newest: an older content's file was replaced since.)
    if (file === undefined || newest.file !== file) {
      for (let i = list.length - 2; i >= 0; i--) {
        // Replaced by something other than a write of the daemon's: not what this tool read.
        if (list[i + 1]!.by !== 'daemon') break;
        const e = list[i]!;
        const until = list[i + 1]!.at;
        if (e.hash === hash || until < mtimeMs - TOOL_RACE_MS || e.at > mtimeMs + TOOL_RACE_MS) continue;
        older.push(e);
      }
      let bestSize = linesChanged(newest.text, now);
      for (const e of older) {
        if (bestSize === 0) break;
        const size = linesChanged(e.text, now);
        // A tie by lines (the tool changed the very line a write-back brought keys to): the one
        // closer by characters is what the tool read. The newest, taken always, had the tool's
        // change delete a peer's keys it never saw (decision 263).
        if (size < bestSize || (size === bestSize && closerByCharacters(e.text, best.text, now))) {
          best = e;
          bestSize = size;
        }
      }
    }
    if (older.length > 0 && isStagedVersion(this.project.root, path, bytes)) {
      // Git put its staged version back (`git checkout -- f`, `reset --hard`): a whole version,
      // not a change of what it read. Diffed from an older content, it kept what came since
      // (decision 223). Unless git read the file first and saved what it read (`git stash`):
      // then that is what its reset replaced, and a write of the daemon's that landed after the
      // read is no part of it. Taken out too, it was in neither the stash nor the file (261).
      const stashed = recentlyStashed(this.project.root, path, mtimeMs, TOOL_RACE_MS);
      const stashedHash = stashed === undefined ? undefined : hashBytes(stashed);
      const read = older.find((e) => e.hash === stashedHash);
      if (read === undefined) return newest;
      this.log(`${path} was put back by git stash, which read it before Chorus's last write of it landed; what that write brought is kept, not taken out with what git saved in the stash`);
      return read;
    }
    if (best !== newest) {
      this.log(`${path} was changed in the folder by a tool that read it before Chorus's last write of it landed; its change is taken in against the version it read, so what that write brought is kept`);
    }
    return best;
  }

  /**
   * Keep `content` (bytes or text) as the base of `path` if the file's document is in memory now
   * (the working set, where outside edits race with typing); drop any older base otherwise.
   */
  keepBase(path: string, hash: string, content: Uint8Array | string | undefined): void {
    const id = this.workspace.index.idOf(path);
    if (content === undefined || !id || !this.workspace.isLoaded(id) || content.length > this.workspace.liveLimit) {
      this.onDisk.delete(path);
      return;
    }
    const text = typeof content === 'string' ? content : decodeText(content);
    if (text === null) this.onDisk.delete(path);
    else this.onDisk.set(path, { hash, text });
    // Files whose documents were unloaded since: their base is found again when needed.
    if (this.onDisk.size > 2 * this.workspace.loaded + 64) {
      for (const [p] of this.onDisk) {
        const pid = this.workspace.index.idOf(p);
        if (!pid || !this.workspace.isLoaded(pid)) this.onDisk.delete(p);
      }
    }
  }

  /** How many files' on-disk base texts are held in memory now (loaded documents only). */
  get basesKept(): number {
    return this.onDisk.size;
  }

  /**
   * The text the folder last held for `path`, as far as the daemon knows: the text with the
   * ledger's newest hash for it — kept in memory for a loaded document, else the file's live
   * text or a blob when either has that hash, else the live text's document at the heads the
   * ledger recorded with that hash (its history: after a restart, the text the daemon wrote
   * before typing it never wrote, decision 200), checked against the hash. Undefined when none
   * does (or it is not text).
   */
  baseText(path: string): string | undefined {
    const hash = this.ledger.latest(path);
    if (hash === undefined) return undefined;
    const kept = this.onDisk.get(path);
    if (kept?.hash === hash) return kept.text;
    const id = this.workspace.index.idOf(path);
    const live = id !== undefined && this.workspace.isLive(id);
    if (live) {
      const text = this.workspace.text(id);
      if (contentHash(text) === hash) return text;
    }
    const bytes = this.workspace.blobs.get(hash);
    const blob = bytes && bytes.length <= this.workspace.liveLimit ? (decodeText(bytes) ?? undefined) : undefined;
    if (blob !== undefined || !live) return blob;
    const heads = this.ledger.headsOf(path, hash);
    const then = heads && this.workspace.textAt(id, heads);
    if (then === undefined || contentHash(then) !== hash) return undefined;
    this.log(`${path}: the text the folder last had was not in memory (the daemon restarted, or let the file go, since it was written); found in the file's history`);
    return then;
  }

  /**
   * Is `bytes` what the folder last had at `path` (the ledger's newest) with more added at its
   * end, and nothing else changed? Told by the hash of its first bytes, so nothing is guessed:
   * undefined base text (not known, not text) says no.
   */
  appendedTo(path: string, bytes: Uint8Array): boolean {
    const latest = this.ledger.latest(path);
    const base = this.baseText(path);
    if (latest === undefined || base === undefined) return false;
    const length = Buffer.byteLength(base, 'utf8');
    return bytes.length > length && hashBytes(bytes.subarray(0, length)) === latest;
  }

  moved(from: string, to: string): void {
    const h = this.ledger.latest(from);
    // The same file (its document) at its new path: the heads name the same states.
    const heads = h === undefined ? undefined : this.ledger.headsOf(from, h);
    const kept = this.onDisk.get(from);
    const history = this.history.get(from);
    this.forget(from);
    // What this run wrote or saw at `to` before was another file's (a conflict copy's winner
    // moving into place): left in `recent`, a content written there earlier counted as the
    // daemon's own for good, and a person putting it back (`git checkout`, a trial) was ignored.
    this.forget(to);
    if (h) {
      this.ledger.record(to, h, heads);
      this.landed.set(to, this.note(to, h));
    }
    if (kept !== undefined) this.onDisk.set(to, kept);
    if (history !== undefined) this.history.set(to, history);
  }

  /**
   * Why this folder keeps `path` to itself (its ignore rules: the rule and where it is written),
   * though a peer shares it; undefined when it does not. A file this folder has had the shared
   * version of is shared here whatever a later rule says (decision 163): its edits are taken in.
   */
  keptHere(path: string): string | undefined {
    if (this.ledger.latest(path) !== undefined && !this.rules.outsideRules(path)) return undefined;
    return this.rules.why(path);
  }

  /**
   * Why the folder's file at `path` is its own, at a path it keeps to itself (keptHere), so a
   * peer's version never replaces it; undefined when the folder has no file there, or has the
   * shared version (what the daemon last wrote or took in there), or does not keep the path.
   * `st`: the path's lstat, when the caller has it (undefined: nothing there).
   */
  async ownKeptFile(path: string, st?: fs.Stats | null): Promise<string | undefined> {
    const abs = this.project.absolute(path);
    if (st === null) st = await fs.promises.lstat(abs).catch(() => undefined);
    if (!st || this.untouchedSinceOwnWrite(path, st)) return undefined;
    const kept = this.keptHere(path);
    if (kept === undefined) return undefined;
    const now = await fs.promises.readFile(abs).then(hashBytes, () => undefined);
    return now !== undefined && now !== this.ledger.latest(path) ? kept : undefined;
  }

  /**
   * Does the folder's file at `path` hold `text`, a change made here that the session does not
   * have: neither what this daemon last wrote nor took in there (the ledger's newest), nor a
   * change a copy of which is kept in `.chorus/kept` already (`keptAside`)? A read-only
   * member's own edit, saved in the folder and never shared, is such a text; an editor that opens
   * it must keep it, not be handed the session's text over it (EditorBuffers.open). A file over
   * the live size limit is never that text.
   */
  holdsOwnChange(path: string, text: string): boolean {
    const abs = this.project.absolute(path);
    const st = lstatNow(abs);
    if (!st?.isFile() || st.size > 4 * text.length + 4) return false;
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(abs);
    } catch {
      return false; // gone meanwhile
    }
    const hash = hashBytes(bytes);
    // A change kept in .chorus/kept already, the session's text on its way over it: an editor
    // told so (session/notice) re-opens to take the session's text, and must get it.
    return hash !== this.ledger.latest(path) && hash !== this.keptAside.get(path) && decodeText(bytes) === text;
  }

  /** Does the file still carry the identity it had right after the daemon's own last write? */
  untouchedSinceOwnWrite(path: string, st: fs.Stats): boolean {
    return this.stamps.get(path) === stampOf(st);
  }

  forget(path: string): void {
    this.stamps.delete(path);
    this.ledger.forget(path);
    this.onDisk.delete(path);
    this.history.delete(path);
    // What it held before it went no longer says anything about a file that appears there later.
    this.recent.delete(path);
    this.landed.delete(path);
    this.heldAtStart.delete(path);
    this.keptAside.delete(path);
  }

  /**
   * Is the daemon creating `path` right now (a write in progress, and no content of it ever
   * landed)? Its file is missing until the write's rename: not a deletion. (An existing file is
   * replaced by a rename over it and never goes missing.)
   */
  creating(path: string): boolean {
    return this.running.has(path) && !this.landed.has(path);
  }

  /**
   * Files this folder renamed (taken in from the folder since the daemon started), with the index
   * change that did it: a peer's deletion made without knowing of the rename must not remove the
   * file (decision 148).
   */
  readonly renamedHere = new RenamedHere();

  /** Resolves once the write of `path` in progress, if any, and those queued behind it are done. */
  async writing(path: string): Promise<void> {
    for (let p = this.running.get(path); p !== undefined; p = this.running.get(path)) {
      await p;
      if (this.running.get(path) === p) return;
    }
  }

  /** Wait for every write in progress. */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()]);
  }

  /** A live file's text changed (the change route's disk step): write it once typing pauses. */
  schedule(fileId: string, origin?: Origin): void {
    const now = Date.now();
    const p = this.pending.get(fileId);
    if (p) clearTimeout(p.timer);
    const since = p?.since ?? now;
    const wait = Math.max(0, Math.min(QUIET_MS, since + MAX_WAIT_MS - now));
    // The latest change's origin, noted when the text is written (not per keystroke). While an
    // editor writes the file itself (`holdFor`), the write waits for it: `release` runs it.
    this.pending.set(fileId, { since, timer: setTimeout(() => (this.holds.has(fileId) ? undefined : this.writeLive(fileId)), wait), origin });
  }

  /**
   * Live files an editor is about to write itself (VS Code's save, `buffer/save` with `hold`),
   * by file id: until it has (or the bound passes), the daemon's own writes of their later
   * changes wait, so the file stays the text the editor is told it holds. VS Code refuses to
   * write over a file that changed on disk since it last read it ("The content of the file is
   * newer"), unless the file holds exactly its text (decision 255).
   */
  private holds = new Map<string, NodeJS.Timeout>();
  /**
   * The texts editors said they write into the file themselves now (`buffer/save` with
   * `writes`), by path, newest last: each hash, and until when it is looked for (decision 255).
   * More than one: with auto save every 100 ms the next save can declare its text before the
   * watcher has read the last one's write.
   */
  private editorWrites = new Map<string, Array<{ hash: string; fileId: string; until: number }>>();

  /** Hold live file `fileId`'s write-backs for up to `ms` (from now; see `holds`). */
  holdFor(fileId: string, ms: number): void {
    clearTimeout(this.holds.get(fileId));
    this.holds.set(fileId, setTimeout(() => this.release(fileId), ms));
  }

  /** End the hold of `fileId`'s write-backs: a change that waited is written now. */
  release(fileId: string): void {
    const t = this.holds.get(fileId);
    if (t === undefined) return;
    clearTimeout(t);
    this.holds.delete(fileId);
    if (this.pending.has(fileId)) void this.writeLive(fileId);
  }

  /**
   * An editor writes its own text, hashed `hash`, into live file `fileId`'s file at `path` now
   * (VS Code's save): its write-backs stay held until the folder shows that write, for at most
   * `ms`, and that content, when taken in, is the editor's own (`editorsOwnWrite`).
   */
  editorWriting(fileId: string, path: string, hash: string, ms: number): void {
    const now = Date.now();
    const list = (this.editorWrites.get(path) ?? []).filter((w) => w.until >= now && w.hash !== hash).slice(-(EDITOR_WRITES_KEPT - 1));
    list.push({ hash, fileId, until: now + ms + EDITOR_WRITE_SEEN_MS });
    this.editorWrites.set(path, list);
    this.holdFor(fileId, ms);
  }

  /** The declared write of `hash` at `path`, if one is still looked for (see `editorWriting`). */
  private declared(path: string, hash: string): { hash: string; fileId: string; until: number } | undefined {
    const now = Date.now();
    const list = this.editorWrites.get(path)?.filter((w) => w.until >= now);
    if (!list?.length) {
      this.editorWrites.delete(path);
      return undefined;
    }
    this.editorWrites.set(path, list);
    return list.find((w) => w.hash === hash);
  }

  /** The folder's file at `path` was read with `hash`: an editor's write of that text has landed (see `editorWriting`). */
  folderShows(path: string, hash: string): void {
    const w = this.declared(path, hash);
    if (w) this.release(w.fileId);
  }

  /**
   * The folder shows `hash` at `path`: if an editor said it writes that very text there
   * (`editorWriting`), this is its write, and the held write-backs go on. True when so: its text
   * is the editor's document, whose every change reached the daemon as the editor's edits, so
   * it is no change of the file. Taken in, a text that lacked a peer's typing not yet shown in
   * the editor deleted that typing on every member (decision 255). Once per declared write.
   */
  editorsOwnWrite(path: string, hash: string, held?: { fileId: string; bytes: Uint8Array }): boolean {
    const w = this.declared(path, hash);
    if (!w) return held !== undefined && this.editorHolds(held.fileId, held.bytes);
    this.editorWrites.set(path, this.editorWrites.get(path)!.filter((x) => x !== w));
    this.release(w.fileId);
    return true;
  }

  /**
   * The texts editors here may hold of live file `fileId` short of changes on their way to them
   * (EditorBuffers.heldTexts, over every editor connected): set by the daemon.
   */
  editorTexts?: (fileId: string) => Iterable<TextSource>;

  /**
   * Is `bytes` a text an editor here holds of live file `fileId` while others' changes are on
   * their way to it (`editorTexts`)? Then the folder shows that editor's write of
   * its own buffer, made without a declaration (`buffer/save` with `writes`): Neovim 0.7's LSP
   * client, which sends no willSaveWaitUntil, writes its buffer when the person answers yes to
   * "The file has been changed since reading it". Taken in as a change, it deleted the words a
   * peer typed meanwhile on every member (trial s62 F1; decision 276). Only texts short of
   * changes in flight count: with none on its way the editor's text is the shared text.
   */
  private editorHolds(fileId: string, bytes: Uint8Array): boolean {
    const texts = this.editorTexts?.(fileId);
    if (!texts) return false;
    const content = decodeText(bytes);
    if (content === null) return false;
    // Lengths first: an editor may have up to 2,000 changes on their way (revisions.ts), and
    // only a text of the very length can be the one written.
    for (const text of texts) if (text.length === content.length && text.toString() === content) return true;
    return false;
  }

  /**
   * Write live file `fileId`'s current text now, not when typing pauses (an editor's save,
   * `buffer/save`). Resolves once done: false when the folder does not hold that text after all
   * (the write failed, or was refused; the log says why in words, and the next change tries
   * again), true otherwise (written, the folder had it already, or the text moved on meanwhile,
   * which the next write brings). Never rejects.
   *
   * `editorText`: write this instead, the text the saving editor has (VS Code's save, which
   * holds the file's write-backs meanwhile: `holdFor`): the shared text without the changes
   * still on their way to that editor, so that the file holds exactly what the editor writes
   * over it next (decision 273). The shared text follows once the hold ends.
   */
  async writeLiveNow(fileId: string, editorText?: string): Promise<boolean> {
    const path = this.workspace.pathOf(fileId);
    if (!path || !this.workspace.isLive(fileId) || this.disabled) return true;
    const text = this.workspace.text(fileId);
    if (editorText === undefined || editorText === text) {
      await this.writeLive(fileId); // (never rejects: writeNow logs a failed write)
      return this.workspace.text(fileId) !== text || this.ledger.latest(path) === contentHash(text);
    }
    // Its edits are in the editor's text: the folder never holds text the log could still lose
    // (decision 217; a live text's write waits so in writeNow).
    if (this.durable && !this.durable.synced(fileId)) await this.durable.whenSynced(fileId);
    if (this.disabled || !this.workspace.isLive(fileId) || this.workspace.pathOf(fileId) !== path) return true;
    await this.writeNow(path, Buffer.from(editorText, 'utf8'), { text: editorText });
    // The shared text's turn comes when the hold ends (`release`), or after typing's pause.
    this.schedule(fileId);
    return this.ledger.latest(path) === contentHash(editorText);
  }

  /** Write a live file's current text (its turn came, or on shutdown). */
  private writeLive(fileId: string): Promise<void> | undefined {
    const p = this.pending.get(fileId);
    if (p) clearTimeout(p.timer);
    this.pending.delete(fileId);
    const path = this.workspace.pathOf(fileId);
    if (!path || !this.workspace.isLive(fileId)) return undefined;
    if (p?.origin) this.noteRulesChange(path, p.origin);
    const text = this.workspace.text(fileId);
    return this.writeNow(path, Buffer.from(text, 'utf8'), { text, liveId: fileId });
  }

  /**
   * Write `data` to `path` now (after any write of it in progress); see WriteOptions.
   */
  writeNow(path: string, data: Uint8Array, { force = false, text, liveId, wanted }: WriteOptions = {}): Promise<void> {
    const previous = this.running.get(path) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.disabled) return;
      /**
       * A live text is written as it is now, not as it was when the write was asked for: an
       * outside edit may have been taken in meanwhile (decision 148). False: its document is no
       * longer live at this path, and nothing is written.
       */
      const current = (): boolean => {
        if (liveId === undefined) return true;
        if (!this.workspace.isLive(liveId) || this.workspace.pathOf(liveId) !== path) return false;
        const now = this.workspace.text(liveId);
        if (now !== text) {
          text = now;
          data = Buffer.from(now, 'utf8');
          hash = hashBytes(data);
        }
        return true;
      };
      let hash = hashBytes(data);
      // It waited its turn behind the write in flight: a tool changing the file in between made
      // its change on a content that was never the shared text's.
      if (!current()) return;
      if (!force && this.ledger.latest(path) === hash) return;
      if (this.writeDelayMs > 0) {
        await new Promise((r) => setTimeout(r, this.writeDelayMs));
        // The test's wait comes before the write starts: a write its caller no longer wants (a
        // peer's content once the daemon stops, PendingContent.halt) is not started after it.
        if (wanted && !wanted()) return;
      }
      // The folder's one path check, before anything else (a link is the person's, never
      // replaced by a regular file: issue 10, item 5); the write itself checks again.
      if (this.pendingContent.refused(path)) return;
      const abs = this.project.absolute(path);
      const st = await fs.promises.lstat(abs).catch(() => undefined);
      // This folder's own file at a path it keeps to itself (a peer shares its `.env`; this
      // folder has one): nothing would take it in first, so it stays, whatever `force` says.
      const kept = await this.ownKeptFile(path, st);
      if (kept !== undefined) {
        this.pendingContent.logRefusal(keptHereMessage(path, kept));
        return;
      }
      if (this.takeForeign && !force && !(st && this.untouchedSinceOwnWrite(path, st))) {
        const now = await fs.promises.readFile(abs).then(hashBytes, () => undefined);
        const known = this.ledger.latest(path);
        if (now !== hash && now !== known && (now !== undefined || known !== undefined)) {
          // Another tool wrote (or deleted) it since: take that in first; its change schedules
          // the next write.
          await this.takeForeign(path);
          // The file went from the folder and the take-in left it undecided: it waits for the
          // other half of a rename (FolderSync.holdMissing), and writes the file back itself if
          // no new name comes. Written back now, a file moved while a peer typed in it would be
          // split in two: the old name with the typing, the new one without.
          // Not for a read-only member: its deletion or rename is its own and never shared, so
          // no other half comes, and the session's newer version is written back here, as over a
          // change of its own (a trial: a file deleted or renamed while the daemon was stopped
          // stayed missing for good, and the reader never saw its updates).
          if (now === undefined && !this.workspace.readOnly && this.ledger.latest(path) === known && this.workspace.index.idOf(path) !== undefined && !fs.existsSync(abs)) return;
          if (this.workspace.readOnly && now !== undefined) {
            // A read-only member's own change is not shared; before the shared content replaces
            // it, a copy is kept where the person can find it.
            await this.folder.keepCopy(path).then(
              async (kept) => {
                const hash = await hashOfFile(kept);
                if (hash !== undefined) this.keptAside.set(path, hash);
                this.log(`kept your unshared change of ${path} as ${kept} (you joined read-only); the folder now has the shared version`);
                const rel = nodePath.relative(this.project.root, kept).split(nodePath.sep).join('/');
                this.onKept?.({ path, kept: rel, message: keptReadOnlyMessage(path, rel) });
              },
              () => undefined,
            );
          }
          const id = this.workspace.index.idOf(path);
          if (!id) return; // it was deleted, and that is now the shared state
          if (this.workspace.readOnly && now === undefined) this.log(readOnlyWrittenBack(path));
          // Taken in: the path's content may now be another (merged, or a conflict's winner);
          // whatever changed it schedules the next write (a live text's edit does). A whole file
          // kept beside as a conflict changes nothing at this path: its shared content is
          // written here now.
          if (this.ledger.latest(path) === now) {
            const shared = this.workspace.isLive(id) ? undefined : this.workspace.content(id);
            if (shared && hashBytes(shared) !== now) void this.writeNow(path, shared);
            return;
          }
          if (now !== undefined && !this.workspace.readOnly && (lstatNow(abs)?.size ?? 0) > MAX_SHARED_FILE) {
            // The take-in left the folder's version out (over the size limit for shared files):
            // it is the person's, and the session's is not written over it. It was: a 50 MB file
            // replaced by a peer's 18 bytes, with no copy (a user trial). Any other file was taken
            // in, merged or newer than the one read above (a tool writing again meanwhile): the
            // text written below has it. Returning for those too left a peer's typed line out of
            // the folder, and said a shared file was not shared (a user trial).
            this.pendingContent.logRefusal(leftAsFolderHasIt(path, 'notShared'));
            return;
          }
        }
      }
      // The checks above wait on the disk, and the watcher may take a tool's edit in meanwhile (an
      // append): a live text is written as it is now, never as it was before that edit (the folder
      // would lose the appended line, and the next append would land after the wrong line).
      const asked = hash;
      if (!current() || (hash !== asked && this.ledger.latest(path) === hash)) return;
      // The document's heads whose text this is, for a live text: its base after a restart (decision 200).
      const heads = this.headsOf(path, hash, text, liveId);
      // The folder never holds text its log could still lose (decision 217): a power loss loses
      // what the last fsync batch had not synced, and text in the folder that the log lost was
      // taken in at the next start as new edits, doubled on every peer that had them. So a live
      // text whose changes are not all synced waits for the batch (started now, no fsync of its
      // own) and is written as it was: changes made meanwhile schedule the next write.
      if (liveId !== undefined && this.durable && !this.durable.synced(liveId)) {
        const known = this.ledger.latest(path);
        await this.durable.whenSynced(liveId);
        if (this.disabled) return;
        if (this.ledger.latest(path) !== known || !this.workspace.isLive(liveId) || this.workspace.pathOf(liveId) !== path) {
          // The folder's file was taken in, or the file moved, meanwhile: this write starts over.
          void this.writeNow(path, data, { force, text, liveId, wanted });
          return;
        }
      }
      // A file the folder does not have is created, never put over one another tool made since.
      const create = !force && st === undefined && this.ledger.latest(path) === undefined;
      // What the daemon knew of the file before this write, put back if the write is abandoned.
      const knownBefore = this.ledger.latest(path);
      // This run's first record of the file: what the folder holds until this write lands. A reader
      // racing it (an editor's re-open taking the folder in, decision 196) saw this older content
      // and took it for a person's revert, diffing the typing the write carries out of the text.
      if (knownBefore !== undefined && !this.recent.has(path) && !this.landed.has(path)) this.heldAtStart.set(path, knownBefore);
      const baseBefore = this.onDisk.get(path);
      try {
        // Before the write: a crash in between leaves it known, with its heads.
        this.ledger.record(path, hash, heads);
        const gen = this.note(path, hash);
        this.keepBase(path, hash, text ?? data);
        const id = this.workspace.index.idOf(path);
        let written: fs.Stats;
        // The file as it was when checked above (`st`): if it changes before the rename (a tool
        // appending or saving meanwhile), that write is taken in instead of replaced.
        const unchanged = (now: fs.Stats | undefined) => (now === undefined ? st === undefined : st !== undefined && stampOf(now) === stampOf(st));
        try {
          written = await this.folder.writeFile(path, data, id ? !!this.workspace.index.entry(id)?.exec : undefined, create, unchanged, (theirs, base, sure) => this.takeLateWrite(path, theirs, base, sure));
        } catch (e) {
          // Nothing was written (the write is a rename into place, or nothing): the folder
          // still holds what it held, so the ledger must say so too, or the next write of this
          // very content would be skipped as done (a file waiting behind a file in its folder's
          // way was never written once that file moved).
          const unknowWrite = () => {
            // Only while the ledger still names this write: a take-in of the folder's content
            // while the write was in flight (the watcher's batch) recorded what the folder holds
            // now, which putting back the older content would make look like a tool's edit again.
            if (this.ledger.latest(path) !== hash) return;
            if (knownBefore === undefined) this.ledger.forget(path);
            else this.ledger.record(path, knownBefore, this.ledger.headsOf(path, knownBefore));
            if (baseBefore) this.onDisk.set(path, baseBefore);
            else this.onDisk.delete(path);
          };
          if (e instanceof ChangedMeanwhile) {
            // The folder holds the tool's write: take that in against the base it was made on;
            // the take-in schedules the next write.
            unknowWrite();
            await this.takeForeign?.(path);
            return;
          }
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !create) {
            unknowWrite();
            throw e;
          }
          const there = await fs.promises.readFile(abs).catch(() => undefined);
          const thereHash = there && hashBytes(there);
          // The daemon's own content, moved here meanwhile: a peer renamed the file while it was
          // being typed in here, and the Materializer moved the old path's file into place just
          // before this write could create it (WriteBack.moved recorded its content at this
          // path). Taken for another tool's file, it became a conflict copy on every peer.
          const movedHere = this.ledger.latest(path) !== hash ? this.ledger.latest(path) : undefined;
          this.forget(path);
          if (there !== undefined && thereHash !== undefined && id && (thereHash === movedHere || thereHash === this.workspace.index.entry(id)?.hash || thereHash === hashBytes(this.workspace.content(id) ?? new Uint8Array([0])))) {
            // Content this file had in the shared state (the editor that created it saved it
            // too, or the daemon moved it here): the base of an ordinary write, not another file.
            this.remember(path, thereHash, there);
            const now = this.workspace.content(id);
            if (now) void this.writeNow(path, now);
            return;
          }
          // Another tool created a different file there while we were about to: take it in (a
          // concurrent create, settled like any other); whatever it changes schedules the next write.
          await this.takeForeign?.(path);
          return;
        }
        this.landed.set(path, gen);
        this.stamps.set(path, stampOf(written));
        this.inFolder(path, hash, text ?? data, fileIdentity(written), 'daemon');
      } catch (e) {
        if (e instanceof WriteRefused) this.pendingContent.logRefusal(e.message);
        else this.log(`could not write ${path}: ${inWords(e)}; will retry on the next change`);
      }
    });
    this.running.set(path, next);
    void next.then(() => {
      if (this.running.get(path) === next) this.running.delete(path);
    });
    return next;
  }

  /**
   * A tool wrote to the file a write-back of `path` replaced, after the rename (FolderWriter's
   * `watchReplaced`: an `echo >>` that opened the file just before it and wrote just after): its
   * write is in no file of the folder. `theirs` is that file's content now, `base` what it held
   * before the write (`sure`), or its start as long as the file was when replaced. Taken in as an
   * outside edit made on `base`, three-way as any (a live text: the appended line goes in after
   * what `base` had, before what came since), when `base` is sure or a content the folder is
   * known to have held (so the tool appended to it); the change schedules the write that puts it
   * in the folder. Otherwise (the tool wrote over the middle of the file, this member may not
   * change the session, or the daemon is stopping), it cannot be placed safely: kept in
   * `.chorus/kept/`, said in the log and to editors. Never dropped.
   */
  private takeLateWrite(path: string, theirs: Buffer, base: Buffer | undefined, sure: boolean): void {
    const isKnown = (hash: string) => this.ledger.latest(path) === hash || this.recent.get(path)?.some((r) => r.hash === hash) || this.history.get(path)?.some((e) => e.hash === hash);
    // Written over, on a base not known: a content this folder held (a tool wrote back what the
    // file had, or only touched it) loses nothing; anything else is kept below.
    if (base === undefined && isKnown(hashBytes(theirs))) return;
    const baseHash = base === undefined ? undefined : hashBytes(base);
    const known = base !== undefined && baseHash !== undefined && (sure || isKnown(baseHash));
    const id = this.workspace.index.idOf(path);
    if (known && id && !this.workspace.readOnly && !this.disabled && !this.stopping) {
      try {
        let kept: string | undefined;
        this.workspace.batch(() => {
          const heads = baseHash === undefined ? undefined : this.ledger.headsOf(path, baseHash);
          const on: MadeOn = { text: decodeText(base) ?? undefined, hash: baseHash, heads, after: this.madeAfterLateWrite(path, baseHash) };
          kept = this.workspace.contentChanged(path, theirs, DISK, !!this.workspace.index.entry(id)?.exec, on);
        }, DISK);
        // The folder's file now lacks this write, which came before whatever a tool does to that
        // file next (see `madeAfterLateWrite`).
        const over = this.ledger.latest(path);
        if (over !== undefined) {
          this.lateTakenOver.delete(path);
          this.lateTakenOver.set(path, over);
          if (this.lateTakenOver.size > MAX_LATE_TAKEN) this.lateTakenOver.delete(this.lateTakenOver.keys().next().value!);
        }
        // A whole (not text) file: this version is kept beside the shared one, as for any concurrent change.
        if (kept !== undefined) void this.writeNow(kept, theirs);
        this.log(`took in a write a tool made to ${path} just after Chorus replaced the file with its new version (the tool had it open from before): it would have been lost with the replaced file`);
        return;
      } catch (e) {
        this.log(`could not take in a write a tool made to ${path} just after Chorus replaced it: ${inWords(e)}; kept as a copy`);
      }
    }
    const keeping = this.folder.keepCopy(path, theirs).then(
      (kept) => {
        const rel = nodePath.relative(this.project.root, kept).split(nodePath.sep).join('/');
        const message = `${path}: a tool wrote to the file just after Chorus replaced it with the session's version; its write could not be merged, so the file as that tool left it is kept in ${rel}: copy what you need from there`;
        this.log(message);
        this.onKept?.({ path, kept: rel, message });
      },
      (e: unknown) => this.log(`${path}: a tool wrote to the file just after Chorus replaced it, and keeping a copy of it failed: ${inWords(e)}`),
    );
    // A stopping daemon waits for it (flush): the copy is the only place that write is.
    this.keeping.add(keeping);
    void keeping.finally(() => this.keeping.delete(keeping));
  }

  /**
   * Per path, the content (hash) its file held when a late write into the file it replaced was
   * taken in (`takeLateWrite`): that write is in the shared text, not in this file. A tool that
   * changes this file next does so after that write happened: at `echo … >>` pace, the next
   * line's append.
   */
  private readonly lateTakenOver = new Map<string, string>();

  /**
   * Whether a tool's change of `path`, made on the content `baseHash`, came after a late write
   * that was taken in over that content (see `lateTakenOver`): then, where both insert at one
   * place, the tool's text goes after the late write's (MadeOn.after), as the tool wrote them.
   * Taken in a tool's change without it, `r1B19` went before `r1B18` (cli/disk-races, stop 54).
   * Asked once per change taken in: the answer holds for that change only.
   */
  madeAfterLateWrite(path: string, baseHash: string | undefined): boolean {
    const over = this.lateTakenOver.get(path);
    if (over === undefined) return false;
    this.lateTakenOver.delete(path);
    return over === baseHash;
  }

  /** Copies of late writes being kept (see `takeLateWrite`), awaited by `flush`. */
  private readonly keeping = new Set<Promise<void>>();

  /** Write everything that is waiting (on shutdown). */
  async flush(): Promise<void> {
    // An editor's save holding writes (decision 255) holds nothing now: everything is written.
    for (const t of this.holds.values()) clearTimeout(t);
    this.holds.clear();
    for (const id of [...this.pending.keys()]) void this.writeLive(id);
    await Promise.all([...this.running.values()]);
    // The daemon is stopping (its store closed): a tool's late write found now is kept as a copy.
    this.stopping = true;
    this.folder.endLateWatches();
    await Promise.all([...this.keeping]);
  }

  /** Set by `flush`: the daemon is stopping. */
  private stopping = false;
}
