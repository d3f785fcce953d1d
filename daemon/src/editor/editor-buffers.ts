/**
 * One connected editor: its negotiated encoding, its open buffers and their revision state.
 * Handlers take internal values and return internal values; the connection file does the wire.
 */
import fs from 'node:fs';
import { ignoredWords } from '@chorus/protocol';
import { hasLoneSurrogate } from '../text/decode-text.js';
import { Failure } from '../errors.js';
import type { Encoding } from '../text/positions.js';
import { diffToOp } from '../text/diff-op.js';
import { applyOp, isNoop, lengthChange, transformOp, type TextOp } from '../text/text-op.js';
import type { Rope, TextSource } from '../text/rope.js';
import type { FilesEvent, TextEvent, Workspace } from '../workspace/workspace.js';
import type { Project } from '../project.js';
import type { ChangeSink } from '../change-route.js';
import { BufferRevisions, RevisionError } from './revisions.js';
import { changesToOp, opToChanges, type WireChange } from './wire.js';

/** How the buffers reach their editor; the connection implements it, tests can record it. */
export interface EditorClient {
  bufferDidChange(path: string, revision: number, changes: WireChange[]): void;
  /** A file this editor has open was renamed: the buffer is now `to`. */
  bufferDidRename?(from: string, to: string): void;
  workspaceDidChange(change: { created: string[]; deleted: string[]; renamed: Array<{ from: string; to: string }> }): void;
  /**
   * Resolves once every message the editor had sent when this was called has been handed on to
   * its handler (what its arrival tells is known; its work may still wait its turn). Bounded;
   * never rejects. Absent: nothing to wait for.
   */
  caughtUp?(): Promise<void>;
}

interface OpenBuffer {
  fileId: string;
  revisions: BufferRevisions;
}

export interface BufferHooks {
  /** Called after an edit of this editor landed (follow mode stops when the follower types). */
  afterEdit?(): void;
  /** True while this daemon is a read-only guest: edits are refused. */
  readOnly?(): boolean;
  /**
   * Why this project path is ignored (.gitignore, .chorus/ignore, a built-in rule; see
   * IgnoreRules.why), or undefined when it is not. Such a file is never shared.
   */
  ignored?(path: string): string | undefined;
  /**
   * Why the folder's own file at `path`, a path the session has but this folder keeps to itself,
   * is this folder's own and not the session's (WriteBack.ownKeptFile: ignored here, and not what
   * the daemon wrote or took in there); undefined otherwise. Such a file is never shared either.
   */
  ownKept?(path: string): Promise<string | undefined>;
  /**
   * Does a copy this folder kept of a file a peer deleted at `path` (`.chorus/deleted/`) hold
   * exactly `text` (kept-copies.ts `deletedCopyHolds`)?
   */
  deletedCopyHolds?(path: string, text: string): boolean;
  /** True in view mode (join --no-disk): the folder's own files are never read or shared. */
  viewMode?(): boolean;
  /**
   * Where the file renamed away from `path` is now, when nothing is at `path` (RecentRenames):
   * a re-open of a buffer whose editor missed the rename follows it.
   */
  renamedTo?(path: string): string | undefined;
  /**
   * Does the folder's file at `path` hold `text` as a change made here that the session lacks
   * (WriteBack.holdsOwnChange)? Asked of a read-only member's open only.
   */
  holdsOwnChange?(path: string, text: string): boolean;
  /**
   * Take in the folder's file at `path` as it is now, waiting out a write in progress (at most
   * 4.5 s: FolderSync.takeForEditor), if the folder is read (not view mode); resolves once done,
   * never rejects. Asked before a re-open merges the editor's typing (decision 196) and before
   * an open makes a file the session lacks but the folder has (decisions 201, 212).
   */
  takeFromFolder?(path: string): Promise<void>;
  /**
   * The text the folder last held at `path` as far as the daemon knows (WriteBack.baseText), or
   * undefined when it never saw one there. What an editor's first open most likely read.
   */
  folderText?(path: string): string | undefined;
  /**
   * Write the live file `fileId`'s shared text into the folder now (WriteBack.writeLiveNow),
   * resolving once it is there, or at once when the folder has it already (`buffer/save`).
   * `editorText`: the text the saving editor has, written instead while its save holds the
   * file; the shared text follows once the hold ends (decision 273).
   */
  writeNow?(fileId: string, editorText?: string): Promise<boolean>;
  /**
   * The editor writes live file `fileId` itself after its `buffer/save` (VS Code): hold the
   * daemon's own writes of it (WriteBack.holdFor), and with `writes`, note that the text with that
   * hash, when the folder shows it, is the editor's own (WriteBack.editorWriting; decision 255).
   */
  holdWrites?(fileId: string, path: string, writes?: string): void;
  /** End that hold now (WriteBack.release). */
  releaseWrites?(fileId: string): void;
}

/**
 * A `buffer/save` with `hold` whose write took longer than this holds nothing after it: the
 * editor (VS Code's extension waits 1 s in all) has written its own text meanwhile (decision
 * 255). Not less than that wait: a save answered within it goes on, VS Code writes after the
 * answer, and a hold ended at the answer had the daemon's next write land first ("The content of
 * the file is newer"; it was 600 ms, decision 273).
 */
const SLOW_SAVE_MS = 1000;

/** What buffer/open answers. */
export interface OpenResult {
  path: string;
  content: string;
  /** False: an ignored file, left local (see `open`). */
  shared?: false;
  notShared?: string;
}

export class EditorBuffers implements ChangeSink {
  encoding: Encoding = 'utf-16';
  name = 'editor';
  initialized = false;
  /** The editor may write its buffers into their files without `buffer/save` first (initialize's `savesItself`; decision 276). */
  savesItself = false;
  private buffers = new Map<string, OpenBuffer>();
  /** Old path → new path of buffers renamed while open: edits still addressed to the old land. */
  private renamedFrom = new Map<string, string>();
  /** Ignored files this editor opened: local, never shared (see `open`). */
  private local = new Set<string>();
  /**
   * The project path each path this editor named at open resolves to: resolving (symbolic links
   * included) costs a few system calls, too many for every keystroke's buffer/edit.
   */
  private resolved = new Map<string, string>();
  private readonly onFiles = (e: FilesEvent) => {
    for (const r of e.renamed) this.renamed(r.from, r.to);
    this.keepOnTheirFiles();
    if (!this.initialized) return;
    if (e.created.length || e.deleted.length || e.renamed.length) {
      this.client.workspaceDidChange({ created: e.created, deleted: e.deleted, renamed: e.renamed.map(({ from, to }) => ({ from, to })) });
    }
  };

  constructor(
    readonly id: string,
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly client: EditorClient,
    readonly hooks: BufferHooks = {},
  ) {
    workspace.on('files', this.onFiles);
  }

  /** A path from this editor as a project path; refused if outside. */
  resolve(path: string): string {
    try {
      return this.project.relative(path);
    } catch (e) {
      throw new Failure('outsideProject', (e as Error).message);
    }
  }

  /** `resolve`, from the cache for paths of open buffers. */
  private resolveOpen(path: string): string {
    return this.resolved.get(path) ?? this.resolve(path);
  }

  openPaths(): string[] {
    return [...this.buffers.keys()];
  }

  isOpen(path: string): boolean {
    return this.buffers.has(path);
  }

  /**
   * Start editing a file. A path through a symbolic link opens the file it names. An ignored
   * file that is not shared already stays local: it is never added to the index (a `.env` must
   * not reach peers), the answer says `shared: false`, and edits of it are refused.
   */
  async open(pathIn: string, content: string | undefined, base?: string, pending: Array<{ id: string; text: string }> = []): Promise<OpenResult> {
    const asked = this.resolve(pathIn);
    // A re-open (the editor had the file in step: `base`) of a path the file was renamed away from
    // while the editor was not told (disconnected): the buffer follows the file, as if the rename
    // had reached it. Created again at the old path, the file would exist twice on every peer.
    const movedTo = base !== undefined && !this.buffers.has(asked) ? this.hooks.renamedTo?.(asked) : undefined;
    const path = movedTo !== undefined && !this.buffers.has(movedTo) ? movedTo : asked;
    // The editor knows this path now: an older redirect to it (a rename it was told of) is over,
    // so a late buffer/close of the old path cannot close this buffer.
    this.forgetRedirects(path);
    if (this.resolved.size > 10_000) this.resolved.clear();
    this.resolved.set(pathIn, asked);
    this.resolved.set(asked, asked);
    // A path the session has is shared, ignored here or not (a rule added later does not unshare)…
    const inSession = this.workspace.index.idOf(path) !== undefined;
    // …unless this folder has its own file there, which the session's version was never written
    // over (a peer made `.env` too, or a browser tab did, which no ignore file stops): that file
    // is the person's secret, and an editor's open of it must not merge it into the session's (a
    // trial: VS Code's reconnect re-opened its `.env` tab, and every member's disk got its text).
    const kept = inSession ? await this.hooks.ownKept?.(path) : undefined;
    const ignored = inSession ? kept : this.hooks.ignored?.(path);
    if (ignored !== undefined) {
      let text = content;
      if (text === undefined) {
        try {
          text = fs.readFileSync(this.project.absolute(path), 'utf8');
        } catch {
          throw new Failure('notFound', `${path} does not exist in the project; pass content to create it`);
        }
      }
      this.local.add(path);
      const notShared =
        kept !== undefined
          ? `${path} is ignored here (${ignored}) and this folder has its own ${path}, so it stays on this machine: edit and save it as a local file; nobody else sees it. A peer shares a ${path} of its own, which is not written over yours`
          : ignoredWords(path, ignored);
      return { path, content: text, shared: false, notShared };
    }
    if (this.hooks.viewMode?.() && !this.workspace.index.idOf(path) && fs.existsSync(this.project.absolute(path))) {
      // View mode: a file of this folder that the session lacks is the person's own; an editor
      // opening it (content and all) must not share it. Without content nothing is read from the
      // folder either: the open is refused, saying why.
      const why = `${path} is a file of this folder, not of the session, and this folder joined in view mode (--no-disk), so its own files are never shared`;
      if (content === undefined) throw new Failure('notFound', `${why}; edit it as a local file`);
      this.local.add(path);
      return { path, content, shared: false, notShared: `${why}: it stays on this machine, edit and save it as a local file; nobody else sees it` };
    }
    this.local.delete(path);
    // The size rule files on disk have: above the live limit a file is whole-file, never live
    // text (Automerge 2.2.9 holds ~400 bytes per character; 10 MB stalled and crashed it).
    for (const [what, text] of [['content', content], ['base', base], ...pending.map((e) => [`text of pending edit ${e.id}`, e.text] as const)] as const) {
      if (text !== undefined && hasLoneSurrogate(text)) throw new Failure('invalid', `the ${what} contains a lone UTF-16 surrogate (half of a pair), which is not Unicode text; nothing was changed`);
      if (text !== undefined && text.length > this.workspace.liveLimit) {
        throw new Failure('tooLarge', `the ${what} is ${text.length} characters, over the ${this.workspace.liveLimit}-character limit for live editing: the file is synced as a whole file, so edit it as a local file; each save is shared`);
      }
    }
    // A re-open with typing since `base`: the folder's file is taken in first (decision 196).
    // The daemon serves editors while it takes the folder in at start, so a buffer typed in while
    // the daemon was stopped may re-open before a change made on disk meanwhile (`echo x >>`) is
    // taken in. Merged first, the typing was written over that change, and the take-in, finding
    // the folder's last text (its base) neither in memory nor in a blob after the restart, took
    // the folder's text as the whole truth: the typing was deleted everywhere, silently. Taken in
    // first, the disk's change is diffed from the text the folder last had (the session's, which
    // the typing is not in yet), and the typing is merged over both, as after the start's take-in.
    const known = this.workspace.index.idOf(path) !== undefined;
    if (content !== undefined && base !== undefined && content !== base && known) await this.hooks.takeFromFolder?.(path);
    // A re-open saying "my text is the file's" (base = content: VS Code read or saved the file,
    // as after a reload or a Save As) is answered with the shared text; when the folder's file
    // holds that text, the change is taken in first, so the answer has it (else the editor was
    // set back to the older shared text until the watcher caught up).
    else if (content !== undefined && content === base && known && this.folderHolds(path, content)) await this.hooks.takeFromFolder?.(path);
    // A file the session lacks but the folder has: an editor just made it there (VS Code's Save As
    // writes the new file empty, opens it, then saves the text into it; Emacs's write-file). It is
    // taken in from the folder first, as the watcher would, so the folder's next version of it is
    // a change of this folder's file. Made from the bytes the open read instead, the file had no
    // folder history, and that next version was taken for a second file created on a peer at the
    // same path: a "(conflict …)" copy on every peer, the editor's tab moved to it (decision 201).
    else if (!known && fs.existsSync(this.project.absolute(path))) await this.hooks.takeFromFolder?.(path);
    // A re-open of a buffer whose file was deleted while the editor was away (decision 160).
    const deleted = base !== undefined && !this.workspace.index.idOf(path) ? this.workspace.deletedFileAt(path) : undefined;
    if (deleted !== undefined) return this.reopenDeleted(asked, path, deleted, content, base!, pending);
    // The same re-open, where this daemon no longer knows which file went: it saw the deletion
    // before it restarted (which file a path last had is remembered only for what a run saw go).
    // The editor had the file in step and typed nothing since, and its text is the copy this
    // folder kept of the file a peer deleted: making it again from that text brought a deleted
    // file back on every member (a trial: VS Code's reconnect after a restart). It stays deleted,
    // and the editor keeps its text as a local file. (A new file's buffer also comes with
    // `base` = `content`, from editors that say "my text is the file's" on a first open: without
    // such a copy, it is made.)
    if (
      base !== undefined &&
      content === base &&
      !pending.length &&
      !this.workspace.index.idOf(path) &&
      !fs.existsSync(this.project.absolute(path)) &&
      this.hooks.deletedCopyHolds?.(path, content)
    ) {
      this.local.add(path);
      const notShared = `${path} is not in the session any more: it was deleted or renamed while this editor was away, and nothing was typed in it since, so it stays deleted. The editor keeps its text as a local file; save it to share it again`;
      this.workspace.tell(`${path} was deleted or renamed while an editor that had it open was away; that editor has no edit of it made since, so it stays deleted (the editor keeps its text as a local file)`);
      return { path: asked, content, shared: false, notShared };
    }
    // A file the session did not have is made by this open, empty: the editor's base (the text it
    // last had in step, from before a reconnect) says nothing of it. Merged from that base, the
    // editor's text would be a deletion of the base from an empty file, and the whole buffer was
    // lost (the file renamed or deleted while the editor was away; an Emacs buffer came back
    // empty, and an empty file reached every peer). Its text is the new file's content.
    const made = !this.workspace.index.idOf(path); // this open makes the file (its text is the editor's)
    if (made) base = undefined;
    const { fileId } = await this.workspace.open(path, content !== undefined, { kind: 'editor', editorId: this.id });
    // Re-read after the await: another change may have landed meanwhile.
    const previous = this.buffers.get(path);
    if (previous) this.workspace.unpin(previous.fileId);
    this.workspace.pin(fileId);
    const opened: OpenBuffer = { fileId, revisions: new BufferRevisions() };
    this.buffers.set(path, opened);
    // A rename onto this path taken in during the awaits above redirected its old path here
    // (`renamed`). This editor opened this path itself, so a close of the old path is about its
    // old buffer, not this one: VS Code opens the new name's document before it closes the old
    // one when its explorer renames a file, and that close closed this buffer (a trial: edits
    // refused from then on, keys lost).
    this.forgetRedirects(path);
    if (path !== asked) {
      // Edits the editor sends to the old path land here, and it is told after this answer (a
      // rename of a buffer it does not hold open yet would be ignored): the answer is written
      // first, as this runs after the open's promise is answered (in order on the connection).
      this.renamedFrom.set(asked, path);
      setImmediate(() => {
        if (this.buffers.get(path) === opened) this.client.bufferDidRename?.(asked, path);
      });
    }
    const current = this.workspace.text(fileId);
    if (content !== undefined && content !== current) {
      // The editor's unsent typing after a reconnect: with a base, only what it changed since
      // (a three-way merge, others' changes kept); without, its text wins where it differs. The
      // base moves past the unanswered edits that were in fact applied (saved before a crash).
      if (base !== undefined) {
        for (const e of pending) if (this.workspace.hasEdit(fileId, e.id)) base = e.text;
      }
      // Without a base (an editor's first open of the file), the text it started from is what the
      // folder held, as far as the daemon knows, and an empty file where the folder never had one
      // (a new buffer): only what the editor changed since is merged. Taken as the whole truth,
      // its text deleted every change it had not seen: two people making the same new file at
      // once, the second open's empty buffer emptied the first person's typing on every peer,
      // silently (a trial: 3 of 8; decision 219). A file this open made has no other text yet.
      base ??= made ? current : (this.hooks.folderText?.(path) ?? '');
      const op = transformOp(diffToOp(base, content), diffToOp(base, current), 'left');
      // Nothing typed since `base`: nothing to merge, so no edit (a read-only member's editor
      // re-opening to take the session's text after its own was kept aside, decision 184, would
      // have that empty edit refused, and its buffer would never follow again).
      if (!isNoop(op)) this.workspace.edit(fileId, op, { kind: 'editor', editorId: this.id });
      // But a read-only member's editor that just read its own change from the folder (saved
      // there, never shared: the session's text was never written over it) sends it as `base`
      // too. Answered with the session's text, the buffer showed that instead, without undo,
      // and the next save wrote it over the person's change (a test run lost two typed lines).
      // It is refused as any change of theirs is; the buffer keeps its text.
      else if (this.hooks.readOnly?.() && this.hooks.holdsOwnChange?.(path, content)) this.workspace.writable(`the edit of ${path}`);
    }
    return { path: asked, content: this.workspace.text(fileId) };
  }

  /**
   * Re-open `path`, whose file `fileId` was deleted while this editor was away (it had the buffer
   * in step at `base`), without making a new file there (decision 160). The buffer is bound to
   * the deleted file. Typing the editor did since `base` is an edit the deletion never saw: merged
   * into the file, it brings it back at its path (Workspace.keepEdited), as a peer's unsent edits
   * do, under the same id, so the two never meet as `name (conflict …)`. Without such typing the
   * file stays deleted; the daemon says so, and the editor's next keystroke brings it back.
   */
  private reopenDeleted(asked: string, path: string, fileId: string, content: string | undefined, base: string, pending: Array<{ id: string; text: string }>): OpenResult {
    const previous = this.buffers.get(path);
    if (previous) this.workspace.unpin(previous.fileId);
    this.workspace.pin(fileId);
    this.buffers.set(path, { fileId, revisions: new BufferRevisions() });
    for (const e of pending) if (this.workspace.hasEdit(fileId, e.id)) base = e.text;
    if (content !== undefined && content !== base) {
      const op = transformOp(diffToOp(base, content), diffToOp(base, this.workspace.text(fileId)), 'left');
      this.workspace.edit(fileId, op, { kind: 'editor', editorId: this.id });
    } else {
      this.workspace.tell(`${path} was deleted while an editor that had it open was away; that editor has no edit of it made since, so it stays deleted (the editor keeps its text: typing in it or saving it brings the file back)`);
    }
    return { path: asked, content: this.workspace.text(fileId) };
  }

  /** Whether the folder's file at project path `path` holds exactly `text` (false when unreadable). */
  private folderHolds(path: string, text: string): boolean {
    try {
      return fs.readFileSync(this.project.absolute(path), 'utf8') === text;
    } catch {
      return false;
    }
  }

  /**
   * `buffer/save`: the editor saves `pathIn` (`:w`, Ctrl+S), and the daemon writes the shared text
   * there now, instead of the editor writing its buffer, which may lack a peer's change on its
   * way to it (decision 222). Resolves once the file is written. `hold`: the editor writes the file
   * itself next, so the daemon's own writes of it wait meanwhile; `writes`: the hash of the text it
   * writes now, and nothing is written here (VS Code; decision 255). Throws Failure('notOpen') for a
   * buffer that is not shared (ignored, or view mode's own file), Failure('invalid') in view
   * mode and Failure('readOnly') for a read-only member: the editor writes those itself.
   * `revision` with `hold` (VS Code): the daemon's changes the editor has applied, as a
   * buffer/edit carries it; the file gets the editor's text then (decision 273), not the shared
   * text, since the editor writes its own right after and the changes still on their way to it
   * wait until it has. A revision that does not fit is ignored (the shared text is written).
   */
  async save(pathIn: string, { hold = false, writes, revision }: { hold?: boolean; writes?: string; revision?: number } = {}): Promise<void> {
    const path = this.current(this.resolveOpen(pathIn));
    const buf = this.buffer(path);
    if (this.hooks.viewMode?.()) throw new Failure('invalid', `this folder joined in view mode (--no-disk): the daemon writes nothing into it, so ${path} is saved by the editor as a local file`);
    // The shared text has none of a reader's edits, and a reader's own deletion of the file is
    // left as it is: answering as if saved wrote nothing a trial could see. Its editor writes
    // its own text, which stays in this folder only (as any change a reader makes on disk).
    if (this.hooks.readOnly?.()) throw new Failure('readOnly', `you joined this session read-only, so the daemon does not save ${path} for you: the editor saves it as a local file, which stays in your folder only (it is not shared)`);
    if (writes !== undefined) {
      // The editor writes its own text now (VS Code): nothing written here (decision 255).
      this.hooks.holdWrites?.(buf.fileId, path, writes);
      return;
    }
    // The editor writes the file itself once answered: the file stays what is written now until it has.
    const started = Date.now();
    if (hold) this.hooks.holdWrites?.(buf.fileId, path);
    this.workspace.settle(); // this editor's typing sent before the save is in the text written
    const editorText = hold && revision !== undefined ? buf.revisions.textAt(revision, this.workspace.ropeFor(buf.fileId, this.id))?.toString() : undefined;
    const written = await this.hooks.writeNow?.(buf.fileId, editorText);
    // Written too late for the editor's wait (VS Code's extension waits 1 s in all): it has written
    // its own text by now, and the file held back would only be an older base for taking that in.
    if (hold && Date.now() - started > SLOW_SAVE_MS) this.hooks.releaseWrites?.(buf.fileId);
    if (written === false) {
      throw new Failure('storage', `could not write ${path} into the folder (the daemon's log, .chorus/daemon.log, says why); your text is safe in the session and is written at the next change: fix what the log names, then save again`);
    }
  }

  /**
   * A `buffer/save` declaring `writes` (VS Code's save of its own text, decision 255), told the
   * moment it arrives, before this editor's earlier messages have run (decision 271): VS Code
   * has written the file by now, and if the daemon was suspended meanwhile those earlier
   * messages (the typing that text holds, a save still waiting for its answer) may be long queued,
   * while the folder's take-in of that write must know it as the editor's own. Does nothing for a
   * buffer not open (yet) here, a reader or view mode: the ordered `save` deals with those.
   */
  declareWrite(pathIn: string, writes: string): void {
    if (this.hooks.viewMode?.() || this.hooks.readOnly?.()) return;
    const path = this.current(this.resolveOpen(pathIn));
    const buf = this.buffers.get(path);
    if (buf) this.hooks.holdWrites?.(buf.fileId, path, writes);
  }

  /** See EditorClient.caughtUp. */
  caughtUp(): Promise<void> {
    return this.client.caughtUp?.() ?? Promise.resolve();
  }

  close(pathIn: string): void {
    const path = this.current(this.resolveOpen(pathIn));
    if (this.local.delete(path)) return;
    const b = this.buffers.get(path);
    if (!b) throw new Failure('notOpen', `${path} is not open in this editor`);
    this.buffers.delete(path);
    this.workspace.unpin(b.fileId);
  }

  /** Where a buffer the editor calls `path` is now (it may have been renamed since). */
  private current(path: string): string {
    for (let i = 0; i < 100 && !this.buffers.has(path) && this.renamedFrom.has(path); i++) path = this.renamedFrom.get(path)!;
    return path;
  }

  private buffer(path: string): OpenBuffer {
    const b = this.buffers.get(path);
    if (b) return b;
    if (this.local.has(path)) throw new Failure('notOpen', `${path} is not shared (it is ignored, or this folder's own file in view mode), so the daemon takes no edits of it: save it as a local file`);
    throw new Failure('notOpen', `${path} is not open in this editor; call buffer/open first`);
  }

  /** The live file id and project path of an open buffer. */
  openBuffer(pathIn: string): { fileId: string; path: string } {
    const path = this.current(this.resolveOpen(pathIn));
    return { fileId: this.buffer(path).fileId, path };
  }

  /**
   * An editor's `buffer/edit`. `editId`: the editor's name for the edit, saved with it (see
   * `open`'s `pending`). Resolves once the edit is in storage (the answer; the Workspace commits
   * a burst of edits as one change, see Workspace.stageEdit); a refused edit rejects with a
   * Failure, answered after the edits before it, so answers keep the order of the requests.
   */
  edit(pathIn: string, revision: number, changes: WireChange[], undoStop: boolean, editId?: string): Promise<void> {
    try {
      return this.place(pathIn, revision, changes, undoStop, editId);
    } catch (e) {
      return this.workspace.afterBurstOf(this.id).then(() => Promise.reject(e));
    }
  }

  private place(pathIn: string, revision: number, changes: WireChange[], undoStop: boolean, editId?: string): Promise<void> {
    const path = this.current(this.resolveOpen(pathIn));
    const buf = this.buffer(path);
    if (this.hooks.readOnly?.()) {
      throw new Failure('readOnly', 'you joined this session read-only: your edits are not shared; re-open the buffer to drop them');
    }
    const current = this.workspace.ropeFor(buf.fileId, this.id);
    let received;
    try {
      received = buf.revisions.receive(revision, current);
    } catch (e) {
      if (e instanceof RevisionError) throw new Failure('invalid', e.message);
      throw e;
    }
    const op = changesToOp(received.base, changes, this.encoding, received.base === current ? this.workspace.lines(buf.fileId) : undefined);
    const grows = lengthChange(op);
    if (current.length + grows > this.workspace.liveLimit) {
      throw new Failure('tooLarge', `${path}: this edit would make the file ${current.length + grows} characters, over the ${this.workspace.liveLimit}-character limit for live editing; the edit was not made (re-open the buffer to drop it)`);
    }
    // A reload reports its changed lines replaced; a key is an insertion (see alreadyHad).
    const rewrote = changes.some((c) => c.range.start.line !== c.range.end.line || c.range.start.character !== c.range.end.character);
    const { edit, missing } = received.rebase(op, rewrote);
    const stored = this.workspace.stageEdit(buf.fileId, edit, { kind: 'editor', editorId: this.id, undoStop, ...(editId === undefined ? {} : { editId }) });
    if (missing) {
      let editorText = received.base.apply(op);
      for (const m of missing) {
        this.send(path, buf, m, editorText);
        editorText = editorText.apply(m);
      }
    }
    if (!isNoop(edit)) this.hooks.afterEdit?.();
    return stored;
  }

  private send(path: string, buf: OpenBuffer, op: TextOp, before: TextSource, after?: TextSource): void {
    const revision = buf.revisions.sent(op, before);
    const index = after === undefined ? undefined : { text: after, lines: this.workspace.lines(buf.fileId) };
    this.client.bufferDidChange(path, revision, opToChanges(before, op, this.encoding, index));
  }

  /**
   * The texts this editor's buffers of live file `fileId` may hold now other than the shared
   * text: the shared text without changes still on their way to it (BufferRevisions.heldTexts).
   * An editor that writes its buffer into the file itself writes one of them.
   */
  heldTexts(fileId: string): Rope[] {
    const out: Rope[] = [];
    // Only for an editor that said it may: an editor that just received a peer's change holds
    // the text without it too, and a tool that took that change back (a `sed`, `git checkout`)
    // would be taken for that editor's save (decision 276).
    if (!this.savesItself) return out;
    for (const buf of this.buffers.values()) if (buf.fileId === fileId) out.push(...buf.revisions.heldTexts(this.workspace.rope(fileId)));
    return out;
  }

  /** A change to the shared text (the change route's editors step): forward it unless it is this editor's own edit. */
  take(e: TextEvent): void {
    if (e.origin.kind === 'editor' && e.origin.editorId === this.id) return;
    for (const [path, buf] of this.buffers) {
      if (buf.fileId === e.fileId) this.send(path, buf, e.op, e.before, e.after);
    }
  }

  /**
   * After any change of the file list, every buffer is where its editor thinks it is (decision
   * 155). A buffer whose file went while another file arrived at its path (a `git checkout` to a
   * branch without the file and back, or one whose removal and re-creation the watcher saw apart,
   * or a peer's) takes the file at that path: the editor shows what is at the path, and its next
   * keystroke goes there. Bound to the file that went, it went into that file, which came back as
   * `name (conflict …)` (an edit wins over a delete) with the person's typing, silently. A buffer
   * whose file moved without a rename being told (an edited file that came back beside the one at
   * its path) follows it, and the editor is told (`buffer/didRename`).
   */
  private keepOnTheirFiles(): void {
    for (const [path, b] of [...this.buffers]) {
      const now = this.workspace.pathOf(b.fileId);
      if (now === undefined) {
        const there = this.workspace.index.idOf(path);
        if (there !== undefined && there !== b.fileId) void this.takeFileAt(path, b);
      } else if (now !== path && !this.buffers.has(now)) this.renamed(path, now);
    }
  }

  /**
   * Bind the buffer `b` at `path`, whose file went, to the file at `path` now, and send the editor
   * the difference. Nothing happens when that file cannot be edited live (binary, not arrived) or
   * things changed meanwhile (an edit of this editor brought its file back: it keeps it).
   */
  private async takeFileAt(path: string, b: OpenBuffer): Promise<void> {
    const gone = b.fileId;
    let to: string;
    try {
      ({ fileId: to } = await this.workspace.open(path, false, { kind: 'editor', editorId: this.id }));
    } catch {
      return; // it stays on the file that went, as before
    }
    this.workspace.settle(); // a burst of this editor's own on the file that went lands first
    if (this.buffers.get(path) !== b || b.fileId !== gone || this.workspace.pathOf(gone) !== undefined || this.workspace.index.idOf(path) !== to) return;
    const before = this.workspace.text(gone);
    const after = this.workspace.ropeFor(to, this.id).toString();
    this.workspace.pin(to);
    this.workspace.unpin(gone);
    b.fileId = to;
    if (before !== after) this.send(path, b, diffToOp(before, after), before, after);
  }

  /** The editor opens `path` itself: no redirect from or to it stands any more (see `renamedFrom`). */
  private forgetRedirects(path: string): void {
    this.renamedFrom.delete(path);
    for (const [from, to] of this.renamedFrom) if (to === path) this.renamedFrom.delete(from);
  }

  /** A buffer's file was renamed: keep it open under its new path, and tell the editor. */
  renamed(from: string, to: string): void {
    const b = this.buffers.get(from);
    if (!b) return;
    this.buffers.delete(from);
    const replaced = this.buffers.get(to);
    if (replaced && replaced !== b) this.workspace.unpin(replaced.fileId);
    this.buffers.set(to, b);
    this.renamedFrom.set(from, to);
    this.renamedFrom.delete(to);
    if (this.initialized) this.client.bufferDidRename?.(from, to);
  }

  dispose(): void {
    this.workspace.off('files', this.onFiles);
    for (const b of this.buffers.values()) this.workspace.unpin(b.fileId);
    this.buffers.clear();
  }
}
