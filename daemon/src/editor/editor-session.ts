/**
 * One connected editor: its negotiated encoding, its open buffers and their revision state.
 * Handlers take internal values and return internal values; the connection file does the wire.
 */
import { Failure } from '../errors.js';
import type { Encoding } from '../text/positions.js';
import { diffToOp } from '../text/diff-op.js';
import { applyOp, isNoop, transformOp, type TextOp } from '../text/text-op.js';
import type { FilesEvent, TextEvent, Workspace } from '../workspace/workspace.js';
import type { Project } from '../project.js';
import type { ChangeSink } from '../change-route.js';
import { BufferRevisions, RevisionError } from './revisions.js';
import { changesToOp, opToChanges, type WireChange } from './wire.js';

/** How a session reaches its editor; the connection implements it, tests can record it. */
export interface EditorClient {
  bufferDidChange(path: string, revision: number, changes: WireChange[]): void;
  workspaceDidChange(change: { created: string[]; deleted: string[]; renamed: Array<{ from: string; to: string }> }): void;
}

interface OpenBuffer {
  fileId: string;
  revisions: BufferRevisions;
}

export interface SessionHooks {
  /** Called after an edit of this editor landed (follow mode stops when the follower types). */
  afterEdit?(): void;
  /** True while this daemon is a read-only guest: edits are refused. */
  readOnly?(): boolean;
}

export class EditorSession implements ChangeSink {
  encoding: Encoding = 'utf-16';
  name = 'editor';
  initialized = false;
  private buffers = new Map<string, OpenBuffer>();
  private readonly onFiles = (e: FilesEvent) => {
    for (const r of e.renamed) this.renamed(r.from, r.to);
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
    readonly hooks: SessionHooks = {},
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

  openPaths(): string[] {
    return [...this.buffers.keys()];
  }

  isOpen(path: string): boolean {
    return this.buffers.has(path);
  }

  async open(pathIn: string, content: string | undefined, base?: string): Promise<{ path: string; content: string }> {
    const path = this.resolve(pathIn);
    // The size rule files on disk have: above the live limit a file is whole-file, never live
    // text (Automerge 2.2.9 holds ~400 bytes per character; 10 MB stalled and crashed it).
    for (const [what, text] of [['content', content], ['base', base]] as const) {
      if (text !== undefined && text.length > this.workspace.liveLimit) {
        throw new Failure('tooLarge', `${path}: the ${what} is ${text.length} characters, over the ${this.workspace.liveLimit}-character limit for live editing; such a file is synced as a whole file, edit it outside Chorus`);
      }
    }
    const { fileId } = await this.workspace.open(path, content !== undefined);
    // Re-read after the await: another change may have landed meanwhile.
    const previous = this.buffers.get(path);
    if (previous) this.workspace.unpin(previous.fileId);
    this.workspace.pin(fileId);
    this.buffers.set(path, { fileId, revisions: new BufferRevisions() });
    const current = this.workspace.text(fileId);
    if (content !== undefined && content !== current) {
      // The editor's unsent typing after a reconnect: with a base, only what it changed since
      // (a three-way merge, others' changes kept); without, its text wins where it differs.
      const op = base === undefined ? diffToOp(current, content) : transformOp(diffToOp(base, content), diffToOp(base, current), 'left');
      this.workspace.edit(fileId, op, { kind: 'editor', editorId: this.id });
    }
    return { path, content: this.workspace.text(fileId) };
  }

  close(pathIn: string): void {
    const path = this.resolve(pathIn);
    const b = this.buffers.get(path);
    if (!b) throw new Failure('notOpen', `${path} is not open in this editor`);
    this.buffers.delete(path);
    this.workspace.unpin(b.fileId);
  }

  private buffer(path: string): OpenBuffer {
    const b = this.buffers.get(path);
    if (!b) throw new Failure('notOpen', `${path} is not open in this editor; call buffer/open first`);
    return b;
  }

  /** The live file id and project path of an open buffer. */
  openBuffer(pathIn: string): { fileId: string; path: string } {
    const path = this.resolve(pathIn);
    return { fileId: this.buffer(path).fileId, path };
  }

  edit(pathIn: string, revision: number, changes: WireChange[], undoStop: boolean): void {
    const path = this.resolve(pathIn);
    const buf = this.buffer(path);
    if (this.hooks.readOnly?.()) {
      throw new Failure('readOnly', 'you joined this session read-only: your edits are not shared; re-open the buffer to drop them');
    }
    const current = this.workspace.text(buf.fileId);
    let received;
    try {
      received = buf.revisions.receive(revision, current);
    } catch (e) {
      if (e instanceof RevisionError) throw new Failure('invalid', e.message);
      throw e;
    }
    const op = changesToOp(received.base, changes, this.encoding, received.base === current ? this.workspace.lines(buf.fileId) : undefined);
    const grows = op.reduce<number>((n, c) => n + (typeof c === 'string' ? c.length : typeof c === 'number' ? 0 : -(typeof c.d === 'number' ? c.d : String(c.d).length)), 0);
    if (current.length + grows > this.workspace.liveLimit) {
      throw new Failure('tooLarge', `${path}: this edit would make the file ${current.length + grows} characters, over the ${this.workspace.liveLimit}-character limit for live editing; the edit was not made (re-open the buffer to drop it)`);
    }
    const { edit, missing } = received.rebase(op);
    if (!isNoop(edit)) this.workspace.edit(buf.fileId, edit, { kind: 'editor', editorId: this.id, undoStop });
    if (missing) {
      const editorText = applyOp(received.base, op);
      this.send(path, buf, missing, editorText);
    }
    if (!isNoop(edit)) this.hooks.afterEdit?.();
  }

  private send(path: string, buf: OpenBuffer, op: TextOp, before: string, after?: string): void {
    const revision = buf.revisions.sent(op, before);
    const index = after === undefined ? undefined : { text: after, lines: this.workspace.lines(buf.fileId) };
    this.client.bufferDidChange(path, revision, opToChanges(before, op, this.encoding, index));
  }

  /** A change to the shared text (the change route's editors step): forward it unless it is this editor's own edit. */
  take(e: TextEvent): void {
    if (e.origin.kind === 'editor' && e.origin.editorId === this.id) return;
    for (const [path, buf] of this.buffers) {
      if (buf.fileId === e.fileId) this.send(path, buf, e.op, e.before, e.after);
    }
  }

  /** A buffer's file was renamed: keep it open under its new path. */
  renamed(from: string, to: string): void {
    const b = this.buffers.get(from);
    if (!b) return;
    this.buffers.delete(from);
    this.buffers.set(to, b);
  }

  dispose(): void {
    this.workspace.off('files', this.onFiles);
    for (const b of this.buffers.values()) this.workspace.unpin(b.fileId);
    this.buffers.clear();
  }
}
