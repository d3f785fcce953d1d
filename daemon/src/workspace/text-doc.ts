/**
 * One file's text as an Automerge document, with a mirror of its content (a Rope: a keystroke
 * copies one chunk of it, not the whole text) so reads and position conversion never go through
 * WebAssembly. Every change goes through here, which keeps the mirror and the CRDT equal.
 */
import * as A from '@automerge/automerge/next';
import { sha256Hex } from '../digest.js';
import { LineIndex } from '../text/line-index.js';
import { Rope } from '../text/rope.js';
import { composeOps, isNoop, opToSplices, splicesToOp, type Splice, type TextOp } from '../text/text-op.js';

interface TextShape {
  text: string;
}

export type RawChange = Uint8Array;

const TEXT: A.Prop[] = ['text'];

/** The message of a change that takes in an outside rewrite, followed by the target's hash. */
const OUTSIDE = 'outside:';

export function contentHash(content: string): string {
  return sha256Hex(content);
}

/**
 * The actor of a file's initial change: derived from the file id and the content hash, so that
 * peers initialising the same file independently produce the very same change.
 */
function initialActor(fileId: string, hash: string): string {
  return sha256Hex(`${fileId}:${hash}`).slice(0, 32);
}

type Handle = ReturnType<typeof A.getBackend>;

/**
 * The document of an Automerge handle that no document has yet (one from the handle's `clone`),
 * made as Automerge 2.2.9's own `init` and `load` make theirs (dist/mjs/stable.js): the handle's
 * materialized root with the same metadata. The handle's datatypes (counters, raw strings) and
 * freeze setting came with the clone. The diff cursor moves to the handle's state, so the first
 * update reports only what it changes (as after `A.clone`). Written against 2.2.9 exactly (the
 * dependency is pinned); test/workspace/text-doc.test.ts runs every kind of update on such a
 * document.
 */
function documentOf(handle: Handle): A.Doc<TextShape> {
  handle.updateDiffCursor();
  return handle.materialize('/', undefined, { handle, heads: undefined, freeze: false, patchCallback: undefined, textV2: true }) as A.Doc<TextShape>;
}

export class TextDoc {
  /** Line starts of the mirror, kept in step with it. */
  readonly lines: LineIndex;

  /**
   * `doc`'s JavaScript view must be current and `mirror` its text. The handle's diff cursor is
   * put at the document's state: from here on it stays at the state the mirror shows (see
   * `integrate`).
   */
  private mirror: Rope;

  private constructor(
    private doc: A.Doc<TextShape>,
    text: string,
  ) {
    this.mirror = Rope.of(text);
    this.lines = LineIndex.of(text);
    A.getBackend(doc).updateDiffCursor();
    this.hasText = typeof doc.text === 'string';
  }

  /** A document whose only change is the deterministic initial one for `content`. */
  static create(fileId: string, content: string, actor: string): TextDoc {
    return TextDoc.initial(fileId, content, actor).doc;
  }

  /**
   * A document whose only change is the deterministic initial one for `content`, and that change
   * (to store: saving the document would encode and check it whole, decision 170).
   *
   * The change is the one `A.change(A.init({ actor: initialActor }), { time: 0 }, (d) => { d.text
   * = content })` makes, byte for byte (peers and older daemons make it so), but made on
   * Automerge's handle, which skips building the patches and JavaScript view of a document that
   * is dropped at once. The document then gets `actor` for its later changes by the handle's
   * `clone(actor)` (2.2.9 has no way to change the actor of a document in place), a copy of its
   * memory as `A.clone` makes; `A.clone` itself would carry over the base's JavaScript view, which
   * the handle's change left without the text.
   */
  static initial(fileId: string, content: string, actor: string): { doc: TextDoc; change: RawChange } {
    const base = A.init<TextShape>({ actor: initialActor(fileId, contentHash(content)) });
    try {
      const handle = A.getBackend(base);
      handle.putObject('_root', 'text', content);
      handle.commit(undefined, 0);
      const change = handle.getLastLocalChange();
      if (!change) throw new Error('TextDoc: Automerge made no initial change');
      return { doc: new TextDoc(documentOf(handle.clone(actor)), content), change };
    } finally {
      A.free(base);
    }
  }

  /** A document from saved bytes plus any raw changes appended since. */
  static load(saved: Uint8Array | undefined, changes: RawChange[], actor: string): TextDoc {
    let doc = saved ? A.load<TextShape>(saved, { actor }) : A.init<TextShape>({ actor });
    if (changes.length) {
      // On the handle, and the view made once after: `A.applyChanges` patches the view's text
      // once per change, each patch a copy of the whole text (a long log of a large file: seconds).
      const handle = A.getBackend(doc);
      handle.applyChanges(changes);
      doc = documentOf(handle);
    }
    return new TextDoc(doc, typeof doc.text === 'string' ? doc.text : '');
  }

  /** An empty document, to receive a file's history from a peer. */
  static empty(actor: string): TextDoc {
    return new TextDoc(A.init<TextShape>({ actor }), '');
  }

  /** The text as one string (made once per version of the text: prefer `rope` on paths taken per keystroke). */
  get text(): string {
    return this.mirror.toString();
  }

  /** The text as this version's Rope (immutable: a later edit makes a new one). */
  get rope(): Rope {
    return this.mirror;
  }

  /** False while the document's history has not arrived (adopted from a peer, changes pending). */
  get ready(): boolean {
    return this.hasText;
  }

  /** Does the CRDT hold the text object (kept here: the JavaScript view may be behind, see `integrate`)? */
  private hasText: boolean;

  /**
   * True while changes are waiting for changes this document never got (a peer's live edits of
   * a file whose initial change was made independently and never sent): only a sync with the
   * peer brings those.
   */
  get lacksHistory(): boolean {
    // Staged local edits change no dependency: this may be asked with edits staged (the
    // replicator's timer does), and needs no commit.
    return !this.ready || A.getMissingDeps(this.doc, []).length > 0;
  }

  get heads(): A.Heads {
    return A.getHeads(this.crdt());
  }

  /**
   * Apply a local edit; returns the raw change to store and send to peers. `outsideTarget`: the
   * edit takes in an outside tool's rewrite that leaves exactly this content (see `twinRewrite`).
   */
  applyLocal(op: TextOp, outsideTarget?: string): RawChange | undefined {
    this.crdt(); // staged edits first (commitHook), so this change follows them
    if (isNoop(op)) return undefined;
    const change = this.change(op, outsideTarget);
    this.applyToMirror(op);
    return change;
  }

  /**
   * Apply a local edit to the text now and to the CRDT later, with the edits staged after it, as
   * one change (`commitStaged`): a burst of keystrokes costs one Automerge change, one log write
   * and one message to each peer instead of one per keystroke. Until then `text` and `lines`
   * include the edit; the Workspace commits before using the CRDT (else `commitHook` does).
   */
  stage(op: TextOp): void {
    if (isNoop(op)) return;
    this.applyToMirror(op);
    this.staged = this.staged ? composeOps(this.staged, op) : op;
  }

  /** Does the text hold staged edits the CRDT does not have yet? */
  get hasStaged(): boolean {
    return this.staged !== undefined;
  }

  /**
   * Make the staged edits one Automerge change; returns it and what it did (an op on the text
   * before the first staged edit), or undefined when nothing was staged or the edits cancel out.
   */
  commitStaged(): { change: RawChange; op: TextOp } | undefined {
    const op = this.staged;
    this.staged = undefined;
    if (!op || isNoop(op)) return undefined;
    const change = this.change(op);
    return change && { change, op };
  }

  /** The local edits applied to the text but not yet to the CRDT (see `stage`), composed. */
  private staged: TextOp | undefined;

  private applyToMirror(op: TextOp): void {
    this.mirror = this.mirror.apply(op);
    for (const s of opToSplices(op)) this.lines.splice(s.at, s.del, s.ins);
  }

  /**
   * `op` (on the CRDT's text) as one Automerge change, leaving the mirror alone. Made on
   * Automerge's handle (`getBackend`) rather than with `A.change`: `A.change` also patches the
   * document's JavaScript view (its `text` string) after every change, which the mirror makes
   * redundant, and which was half of a keystroke's Automerge cost on the typing side (83 against
   * 165–210 µs per change, paced, 2.2.9). The view catches up in one step when an Automerge call
   * needs it (`viewCurrent`). The change is the same: the same splices, and the time `A.change`
   * gives one (whole seconds).
   */
  private change(op: TextOp, outsideTarget?: string): RawChange | undefined {
    const splices = opToSplices(op);
    if (splices.length === 0) return undefined;
    const doc = this.crdt();
    const handle = A.getBackend(doc);
    const text = this.textObjectOf(doc, handle);
    try {
      for (const s of splices) handle.splice(text, s.at, s.del, s.ins);
    } catch (e) {
      handle.rollback();
      throw e;
    }
    if (handle.pendingOps() === 0) return undefined;
    handle.commit(outsideTarget === undefined ? undefined : OUTSIDE + contentHash(outsideTarget), Math.floor(Date.now() / 1000));
    // The mirror has this change already: the next diff (`integrate`) must not report it.
    handle.updateDiffCursor();
    this.viewBehind = true;
    return handle.getLastLocalChange() ?? undefined;
  }

  /**
   * The id of the text object in `doc`, read from Automerge once per document object: Automerge's
   * `get` turns the ids into and out of strings each time (~40 µs, 3–4 % of a typing daemon's CPU,
   * paced). A local change, made on the handle, keeps the document object and never moves the
   * text; everything else that changes the document (a peer's changes, a sync message, a
   * snapshot, `viewCurrent`) makes a new document object, which is read afresh.
   */
  private textObjectOf(doc: A.Doc<TextShape>, handle: Handle): string {
    if (this.textObject?.doc === doc) return this.textObject.id;
    const id = handle.get('_root', 'text');
    if (typeof id !== 'string') throw new Error('TextDoc: a local edit of a document without its text (its history has not arrived)');
    this.textObject = { doc, id };
    return id;
  }

  private textObject: { doc: A.Doc<TextShape>; id: string } | undefined;

  /** The CRDT has changes the document's JavaScript view does not show (see `change` and `integrate`). */
  private viewBehind = false;

  /**
   * Bring the document's JavaScript view up to the CRDT before an Automerge call that patches it
   * (a sync message, a whole saved document), so the view it patches is current. The view is
   * made again from the CRDT, once: patching it (`A.applyChanges(doc, [])`) copied the whole text
   * once per change it was behind by (5,200 local changes to a 200,000-character file: 3.8 s).
   * The diff cursor is at the CRDT's state already, so the call reports only its own patches.
   */
  private viewCurrent(): void {
    const doc = this.crdt(); // staged edits first: committing them puts the view behind
    if (!this.viewBehind) return;
    this.doc = documentOf(A.getBackend(doc));
    this.viewBehind = false;
  }

  /**
   * Commits the staged edits when the CRDT is needed while some are staged (the Workspace sets
   * its `settle`, which stores and routes the change). The Workspace settles before every use it
   * knows of; this is the safety net for one it does not, so that it commits rather than fails.
   */
  commitHook: (() => void) | undefined;

  /** Every use of the CRDT goes through here: staged edits are committed first. */
  private crdt(): A.Doc<TextShape> {
    if (this.staged) this.commitHook?.();
    if (this.staged) throw new Error('TextDoc: the document has staged edits and nothing to commit them (a Workspace commits them with settle)');
    return this.doc;
  }

  /**
   * Apply changes from elsewhere (a peer, storage). Returns what they did to the text as an op
   * on the text as it was before, or undefined when the text did not change (duplicates, or
   * changes still waiting for their dependencies).
   */
  applyRemote(changes: RawChange[]): TextOp | undefined {
    return this.integrateOnHandle((handle) => handle.applyChanges(changes));
  }

  /**
   * Merge a whole saved document (a peer's, for a first sync of a long history). It must load on
   * its own and be a text document first: nothing of a damaged or foreign one is taken in.
   */
  loadSnapshot(bytes: Uint8Array): TextOp | undefined {
    if (A.getHeads(this.crdt()).length === 0) {
      // Nothing here yet (a joiner's usual case): the loaded document becomes this one, so it is
      // loaded once, not once to check and once more to merge (a 250,000-change history: ~4 s of
      // CPU each). Checked before it replaces anything; a refused one is freed.
      return this.integrate((opts) => {
        const doc = this.crdt(); // as integrate left it (brought up to date)
        let loaded: A.Doc<TextShape>;
        try {
          loaded = A.load<TextShape>(bytes, { ...opts, actor: A.getActorId(doc) });
        } catch (e) {
          throw new Error(`a saved document that does not load (${(e as Error).message.split('\n')[0]})`);
        }
        if (!isText(loaded)) {
          A.free(loaded);
          throw new Error('a saved document that is not a text document');
        }
        A.free(doc);
        return loaded;
      });
    }
    let probe: A.Doc<TextShape>;
    try {
      probe = A.load<TextShape>(bytes);
    } catch (e) {
      throw new Error(`a saved document that does not load (${(e as Error).message.split('\n')[0]})`);
    }
    const fits = isText(probe);
    A.free(probe);
    if (!fits) throw new Error('a saved document that is not a text document');
    return this.integrateOnHandle((handle) => void handle.loadIncremental(bytes));
  }

  /**
   * Does this document hold the deterministic initial change that `TextDoc.initial(fileId,
   * content)` makes, with its text object still the one at the root? That change is the only one
   * its actor (derived from the file id and `content`'s hash) ever makes, and its object is the
   * actor's first op (`1@actor`), so one lookup of the root's `text` tells, without building the
   * change. When it holds, merging that change in would change nothing (s53 N3).
   */
  startsFrom(fileId: string, content: string): boolean {
    const id = A.getBackend(this.crdt()).get('_root', 'text');
    return id === `1@${initialActor(fileId, contentHash(content))}`;
  }

  /**
   * The text at `heads` (an earlier state of this document, change hashes from `heads`), or
   * undefined when the document does not hold them all (or had no text there). Read on
   * Automerge's handle, not through `A.view`: nothing is materialized but the text, and the
   * document's view and diff cursor are left as they are. Costs a walk of the history: used only
   * to find the text the folder last had when nothing else holds it (decision 200).
   */
  textAt(heads: A.Heads): string | undefined {
    const doc = this.crdt();
    if (heads.length === 0 || A.getMissingDeps(doc, heads).length > 0) return undefined;
    const handle = A.getBackend(doc);
    try {
      const id = handle.get('_root', 'text', heads);
      if (typeof id !== 'string') return undefined;
      return handle.text(id, heads);
    } catch {
      return undefined; // not a text there (another kind of value), or heads Automerge refuses
    }
  }

  /**
   * What the document's changes since `heads` (an earlier state of it) did to its text, as one op
   * on the text at `heads`: Automerge's own record of which characters were inserted and deleted
   * where, never a guess from the two texts. A text diff cannot tell where an insertion went in
   * repetitive text (`S6C0` + `022;S6C00` or `S6C` + `0022;S6C0` + `0`), and an outside edit
   * rebased over the wrong one deleted a character typed after it and kept one it removed (trial
   * s54a F3, decision 253). Undefined when the document lacks any of `heads`, or its text object
   * was made anew since (its history then says nothing about the old one's characters). Read on
   * the handle (`diff`): the view and diff cursor are left as they are. Costs a walk of the history.
   */
  changeSince(heads: A.Heads): TextOp | undefined {
    const doc = this.crdt();
    if (heads.length === 0 || A.getMissingDeps(doc, heads).length > 0) return undefined;
    let patches: A.Patch[];
    try {
      patches = A.getBackend(doc).diff(heads, A.getHeads(doc));
    } catch {
      return undefined; // heads Automerge refuses
    }
    const splices: Splice[] = [];
    for (const p of patches) {
      if (p.path[0] !== 'text') continue;
      if (p.path.length !== 2) return undefined; // the text object itself: made anew
      if (p.action === 'splice') splices.push({ at: p.path[1] as number, del: 0, ins: p.value });
      else if (p.action === 'del') splices.push({ at: p.path[1] as number, del: p.length ?? 1, ins: '' });
      else return undefined;
    }
    return splicesToOp(splices);
  }

  /** Which of these change hashes the document does not hold yet. */
  missingDeps(hashes: string[]): string[] {
    return hashes.length ? A.getMissingDeps(this.crdt(), hashes) : [];
  }

  /** How many changes the history holds. */
  get changeCount(): number {
    return A.stats(this.crdt()).numChanges;
  }

  /**
   * The changes this document holds beyond `heads` (heads it had before), in an order each comes
   * after its dependencies: what a sync message or a merge brought, to append to the saved log.
   */
  changesSince(heads: A.Heads): RawChange[] {
    return A.getBackend(this.crdt()).getChanges(heads);
  }

  /** Receive one Automerge sync-protocol message; returns the text op and the new sync state. */
  receiveSync(state: A.SyncState, message: Uint8Array): { op: TextOp | undefined; state: A.SyncState } {
    let next = state;
    const op = this.integrate((opts) => {
      const [doc, s] = A.receiveSyncMessage(this.crdt(), state, message, opts);
      next = s;
      return doc;
    });
    return { op, state: next };
  }

  generateSync(state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    const [next, message] = A.generateSyncMessage(this.crdt(), state);
    return { state: next, message };
  }

  /** Run an Automerge update and turn its patches into one op on the mirror. */
  private integrate(update: (opts: A.ApplyOptions<TextShape>) => A.Doc<TextShape>): TextOp | undefined {
    this.viewCurrent();
    const patches: A.Patch[] = [];
    this.doc = update({
      patchCallback: (batch) => {
        for (const p of batch) patches.push(p); // not push(...batch): a long history is more arguments than a call takes
      },
    });
    return this.toMirror(patches, () => {
      this.hasText = typeof this.doc.text === 'string';
      return this.hasText ? this.doc.text : '';
    });
  }

  /**
   * Run an update on Automerge's handle (a peer's changes, saved changes) and turn what it did
   * into one op on the mirror, from the handle's diff since its cursor (`diffIncremental`, which
   * moves the cursor on). The JavaScript view is left behind: `A.applyChanges` would patch its
   * text too, a copy of the whole text per change (0.7 ms per keystroke on a 200,000-character
   * file), and nothing reads the view but the calls `viewCurrent` brings it up to date for.
   */
  private integrateOnHandle(update: (handle: Handle) => void): TextOp | undefined {
    const handle = A.getBackend(this.crdt());
    update(handle);
    const patches = handle.diffIncremental();
    if (patches.length === 0) return undefined;
    this.viewBehind = true;
    return this.toMirror(patches, () => {
      this.textObject = undefined; // a new text object: its id is read afresh
      const text = handle.getWithType('_root', 'text');
      this.hasText = text?.[0] === 'text';
      return text?.[0] === 'text' ? handle.text(text[1] as string) : '';
    });
  }

  /**
   * Apply Automerge's `patches` (in order, each on the text the previous left) to the mirror as
   * one op. A patch of the text object itself means it was (re)created: `textNow()` (the whole
   * new text) replaces the mirror instead.
   */
  private toMirror(patches: A.Patch[], textNow: () => string): TextOp | undefined {
    const splices: Splice[] = [];
    let recreated = false;
    for (const p of patches) {
      if (p.path[0] !== 'text') continue;
      if (p.path.length === 1) recreated = true;
      else if (p.action === 'splice') splices.push({ at: p.path[1] as number, del: 0, ins: p.value });
      else if (p.action === 'del') splices.push({ at: p.path[1] as number, del: p.length ?? 1, ins: '' });
    }
    const before = this.mirror;
    if (recreated) splices.splice(0, splices.length, { at: 0, del: before.length, ins: textNow() });
    const op = splicesToOp(splices);
    if (isNoop(op)) return undefined;
    this.mirror = before.apply(op);
    // The patches are in order, each on the text the previous left: the line index takes them as they are.
    for (const s of splices) this.lines.splice(s.at, s.del, s.ins);
    return op;
  }

  /**
   * The content to settle on when two peers took in the same outside rewrite concurrently (both
   * ran the formatter, both pulled the same commit): the document's heads are exactly this
   * peer's rewrite and another's, both tagged with the same target content, and the merge of the
   * two (every insertion twice) is not that content. Exactly one of the two peers, the one with
   * the larger actor id, answers (it then edits the text to the target, which also removes the
   * duplicates on every peer); the other returns undefined and receives that edit.
   */
  twinRewrite(): string | undefined {
    const heads = A.getHeads(this.crdt());
    if (heads.length !== 2) return undefined;
    const [x, y] = heads.map((h) => A.inspectChange(this.doc, h));
    if (!x || !y || !x.message?.startsWith(OUTSIDE) || x.message !== y.message || x.actor === y.actor) return undefined;
    const target = x.message.slice(OUTSIDE.length);
    if (contentHash(this.text) === target) return undefined;
    const me = A.getActorId(this.doc);
    const mine = x.actor === me ? x : y.actor === me ? y : undefined;
    if (!mine || mine.actor < (mine === x ? y : x).actor) return undefined;
    const text = A.view(this.doc, [mine.hash]).text;
    return typeof text === 'string' && contentHash(text) === target ? text : undefined;
  }

  /** Everything needed to recreate the document. */
  save(): Uint8Array {
    return A.save(this.crdt());
  }

  /** A stable reference to the character at `offset` (or to the end), surviving others' edits. */
  cursorAt(offset: number): string {
    return A.getCursor(this.crdt(), TEXT, offset >= this.mirror.length ? 'end' : offset);
  }

  /** Where a cursor from `cursorAt` (here or on a peer) is now; undefined if it is unknown here. */
  offsetOf(cursor: string): number | undefined {
    try {
      return A.getCursorPosition(this.crdt(), TEXT, cursor);
    } catch {
      return undefined;
    }
  }

  /** Release the WebAssembly memory now rather than at garbage collection. */
  free(): void {
    A.free(this.doc);
  }
}

/** Is a loaded document a text document: one key, `text`, holding text? */
function isText(doc: A.Doc<TextShape>): boolean {
  return typeof doc.text === 'string' && Object.keys(doc).length === 1;
}
