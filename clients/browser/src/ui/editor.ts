/**
 * One open file's CodeMirror 6 editor, wired to the peer the way an editor plugin is wired to its
 * daemon:
 * - local edits: every transaction's `changes` go to `peer.edit` as they happen (positions in the
 *   text before the transaction, CodeMirror's own convention, which the seam adopts);
 * - changes from elsewhere (`text` events) are dispatched annotated with {@link peerChange}, so
 *   they are never sent back;
 * - no CodeMirror history: Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y ask the peer to undo or redo this
 *   person's own last step (decision 006), whose result comes back as a `text` event;
 * - line separator fixed to "\n": a "\r" stays a character of its line, so offsets are the same
 *   UTF-16 offsets the peer counts even in files with CRLF line ends.
 */
import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Annotation, ChangeSet, Compartment, EditorSelection, EditorState, Prec, Transaction, type Extension } from '@codemirror/state';
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
  type ViewUpdate,
} from '@codemirror/view';
import { classHighlighter } from '@lezer/highlight';
import type { ChangeOrigin, PagePeer, SelectionRange, TextChange } from '../peer-api.js';
import { h, messageOf } from './dom.js';
import { loadLanguage } from './languages.js';
import { crlfLineEnds, usesCrlf } from './crlf.js';
import { remoteSelections, setRemoteSelections, type RemoteSelections } from './remote-cursors.js';

/** Marks a transaction that applies a change from the peer (remote, undo, redo): never forwarded. */
export const peerChange = Annotation.define<ChangeOrigin>();

/** How often, at most, this person's selection is sent as presence (milliseconds). */
const SELECTION_THROTTLE_MS = 50;

/** What a {@link FileEditor} needs from the page around it. */
export interface FileEditorHost {
  peer: PagePeer;
  /** Whether the whole session is read-only (a read-only join code). */
  sessionReadOnly(): boolean;
  dark(): boolean;
  /** The shadow root the editors live in (CodeMirror mounts its styles there, see app.ts). */
  editorRoot(): ShadowRoot;
  /** The person tried to change a read-only file: say why (once in a while). */
  refused(reason: string): void;
  /** Something failed: show the readable message. */
  error(message: string): void;
  /** The person did something in this editor (typed, clicked, scrolled): stops following. */
  userAction(): void;
  /** The cursor or the language changed (for the status bar). */
  changed(editor: FileEditor): void;
}

/** The message shown when someone types in a read-only editor. */
export function readOnlyReason(sessionReadOnly: boolean, editable: boolean): string | undefined {
  if (sessionReadOnly) return 'This session is read-only: your join code lets you watch, not edit.';
  if (!editable) return 'This file cannot be edited here (it is binary, starts with a byte order mark, or is too large): it is shared whole; open it in an editor on a daemon.';
  return undefined;
}

/** One open file's editor. */
export class FileEditor {
  readonly view: EditorView;
  /** The element holding the editor; hidden while its tab is not the active one. */
  readonly dom: HTMLElement;
  /** The language's display name once loaded ('' for plain text). */
  language = '';
  private readonly readOnlyConf = new Compartment();
  private readonly themeConf = new Compartment();
  private readonly languageConf = new Compartment();
  private selectionTimer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;
  /**
   * Fetching the peer's text again (`resync`): the editor's text is not the peer's, so the
   * person cannot type and changes from the peer are not applied (the fetched text has them).
   */
  private syncing = false;
  /** A change from the peer arrived while syncing: fetch once more, it may be newer than the text fetched. */
  private missed = false;

  constructor(
    /** The file's path in the project; changes when someone renames it. */
    public path: string,
    text: string,
    /** False for binary and too-large files. */
    readonly editable: boolean,
    private readonly host: FileEditorHost,
  ) {
    this.dom = h('div', { class: 'editor', 'data-testid': `editor:${path}`, 'data-path': path });
    this.view = new EditorView({
      parent: this.dom,
      root: host.editorRoot(),
      state: EditorState.create({ doc: text, extensions: this.extensions(usesCrlf(text)) }),
    });
    void this.loadLanguage();
  }

  private extensions(crlf: boolean): Extension[] {
    const ownUndo = (redo: boolean) => (): boolean => {
      this.undo(redo);
      return true; // always handled: the browser's own undo of the editable DOM would desync the text
    };
    return [
      EditorState.lineSeparator.of('\n'),
      EditorState.allowMultipleSelections.of(true),
      crlfLineEnds(crlf, (tr) => tr.annotation(peerChange) !== undefined),
      this.readOnlyConf.of(this.readOnlyExtension()),
      this.themeConf.of(EditorView.darkTheme.of(this.host.dark())),
      this.languageConf.of([]),
      Prec.highest(
        keymap.of([
          { key: 'Mod-z', run: ownUndo(false), preventDefault: true },
          { key: 'Mod-Shift-z', run: ownUndo(true), preventDefault: true },
          { key: 'Mod-y', run: ownUndo(true), preventDefault: true },
        ]),
      ),
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars({ render: renderSpecialChar }),
      foldGutter(),
      drawSelection(),
      dropCursor(),
      indentOnInput(),
      syntaxHighlighting(classHighlighter),
      bracketMatching(),
      closeBrackets(),
      rectangularSelection(),
      crosshairCursor(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      search({ top: true }),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...foldKeymap, indentWithTab]),
      remoteSelections(),
      EditorView.updateListener.of((update) => this.updated(update)),
      EditorView.domEventHandlers({
        beforeinput: (event) => this.beforeInput(event),
        mousedown: () => this.host.userAction(),
        keydown: () => this.host.userAction(),
        wheel: () => this.host.userAction(),
      }),
      EditorView.contentAttributes.of(() => ({ 'aria-label': `Text of ${this.path}` })), // read at each update: follows renames
    ];
  }

  private readOnlyExtension(): Extension {
    return EditorState.readOnly.of(this.readOnlyReason() !== undefined);
  }

  /** Why this editor refuses typing, or undefined when it accepts it. */
  readOnlyReason(): string | undefined {
    if (this.syncing) return `Reloading ${this.path} from the session; type again in a moment.`;
    return readOnlyReason(this.host.sessionReadOnly(), this.editable);
  }

  /** Forward this page's own edits to the peer; send the selection as presence. */
  private updated(update: ViewUpdate): void {
    let local = false;
    for (const tr of update.transactions) {
      if (!tr.docChanged || tr.annotation(peerChange) !== undefined) continue;
      local = true;
      const changes: TextChange[] = [];
      tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
        changes.push({ from: fromA, to: toA, insert: inserted.sliceString(0, inserted.length, '\n') });
      });
      try {
        this.host.peer.edit(this.path, changes);
      } catch (e) {
        // The peer refused (read-only, file gone): the editor shows text the peer does not have,
        // and later positions would be off. Take the peer's text back so what the person sees is
        // what everyone has, and say why. (Update listeners may dispatch; a microtask keeps the
        // rest of this update's bookkeeping first.)
        this.host.error(messageOf(e));
        queueMicrotask(() => void this.resync());
        break;
      }
    }
    const userSelection = update.transactions.some((tr) => tr.selection !== undefined && tr.annotation(peerChange) === undefined);
    if (local || userSelection || update.focusChanged) this.scheduleSelection();
    if (update.selectionSet || update.docChanged) this.host.changed(this);
  }

  private beforeInput(event: InputEvent): boolean {
    if (event.inputType === 'historyUndo' || event.inputType === 'historyRedo') {
      // Undo from the browser's context menu or an input method: own-edit undo too.
      event.preventDefault();
      this.undo(event.inputType === 'historyRedo');
      return true;
    }
    const reason = this.readOnlyReason();
    if (reason && /^(insert|delete)/.test(event.inputType)) this.host.refused(reason);
    return false;
  }

  /** Undo (or redo) this person's own last step in this file, through the peer. */
  undo(redo = false): void {
    this.host.userAction();
    const reason = this.readOnlyReason();
    if (reason) return this.host.refused(reason);
    try {
      if (redo) this.host.peer.redo(this.path);
      else this.host.peer.undo(this.path);
    } catch (e) {
      this.host.error(messageOf(e));
    }
  }

  /**
   * Apply a change made elsewhere (or this person's undo/redo, `origin` 'undo'). Changes that do
   * not fit the text (a peer bug or a race) trigger a full resync instead of a wrong edit.
   */
  applyRemote(changes: TextChange[], origin: ChangeOrigin): void {
    if (this.syncing) {
      this.missed = true;
      return;
    }

    if (changes.length === 0) return;
    let set: ChangeSet;
    try {
      set = ChangeSet.of(changes, this.view.state.doc.length, '\n');
    } catch {
      void this.resync();
      return;
    }
    const undoing = origin === 'undo';
    let cursor: EditorSelection | undefined;
    if (undoing) {
      // After undo/redo the cursor goes where the text changed, as in any editor.
      let end = 0;
      set.iterChangedRanges((_fromA, _toA, _fromB, toB) => (end = toB));
      cursor = EditorSelection.single(end);
    }
    this.view.dispatch({
      changes: set,
      selection: cursor,
      scrollIntoView: undoing,
      annotations: [peerChange.of(origin), Transaction.addToHistory.of(false), Transaction.remote.of(origin === 'remote')],
    });
  }

  /** Replace the text with the peer's (only the part that differs, so cursors keep their place). */
  setText(text: string): void {
    const old = this.view.state.doc.toString();
    if (old === text) return;
    let start = 0;
    const max = Math.min(old.length, text.length);
    while (start < max && old.charCodeAt(start) === text.charCodeAt(start)) start++;
    let end = 0;
    while (end < max - start && old.charCodeAt(old.length - 1 - end) === text.charCodeAt(text.length - 1 - end)) end++;
    this.view.dispatch({
      changes: { from: start, to: old.length - end, insert: text.slice(start, text.length - end) },
      annotations: [peerChange.of('remote'), Transaction.addToHistory.of(false)],
    });
  }

  /**
   * Fetch the peer's text again and show it; meanwhile the editor refuses typing. If the peer
   * changed the file during the fetch, fetch again (a few times at most: the fetched text
   * already holds changes made before it was read).
   */
  async resync(): Promise<void> {
    if (this.syncing || this.destroyed) return;
    this.syncing = true;
    this.reconfigure();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        this.missed = false;
        const path = this.path;
        const opened = await this.host.peer.open(path);
        if (this.destroyed || path !== this.path) return; // renamed meanwhile: rename() fetches again
        this.setText(opened.text);
        if (!this.missed) break;
      }
      this.syncing = false;
    } catch (e) {
      // The editor stays read-only: its text is not the session's. A rename fetches again.
      this.host.error(`Could not reload ${this.path}: ${messageOf(e)}`);
      return;
    }
    if (!this.destroyed) this.reconfigure();
  }

  /** Show other people's selections in this file. */
  setRemoteSelections(people: RemoteSelections[]): void {
    this.view.dispatch({ effects: setRemoteSelections.of(people) });
  }

  /** This person's selections, for presence. */
  selections(): SelectionRange[] {
    return this.view.state.selection.ranges.map((r) => ({ anchor: r.anchor, head: r.head }));
  }

  /** Send the selection to the peer soon (throttled: a burst of moves sends at most one update per interval). */
  scheduleSelection(): void {
    if (this.selectionTimer !== undefined) return;
    this.selectionTimer = setTimeout(() => {
      this.selectionTimer = undefined;
      if (this.destroyed || this.dom.hidden) return;
      try {
        this.host.peer.setSelections(this.path, this.selections());
      } catch {
        // Presence is best effort; a failure here has nothing for the person to act on.
      }
    }, SELECTION_THROTTLE_MS);
  }

  /** Re-read the session's read-only flag and the colour scheme. */
  reconfigure(): void {
    this.view.dispatch({
      effects: [this.readOnlyConf.reconfigure(this.readOnlyExtension()), this.themeConf.reconfigure(EditorView.darkTheme.of(this.host.dark()))],
    });
  }

  /** The file was renamed: keep the editor, change its name. */
  rename(path: string): void {
    const wasSyncing = this.syncing;
    this.path = path;
    this.dom.dataset.testid = `editor:${path}`;
    this.dom.dataset.path = path;
    this.view.contentDOM.setAttribute('aria-label', `Text of ${path}`);
    void this.loadLanguage();
    if (wasSyncing) {
      this.syncing = false;
      void this.resync();
    }
  }

  /** Show or hide this editor (only the active tab's editor is shown). */
  setVisible(visible: boolean): void {
    this.dom.hidden = !visible;
    if (visible) this.view.requestMeasure();
  }

  /** Scroll `pos` into view (following someone) without moving this person's own cursor. */
  reveal(pos: number): void {
    const at = Math.min(Math.max(0, pos), this.view.state.doc.length);
    this.view.dispatch({ effects: EditorView.scrollIntoView(at, { y: 'nearest', yMargin: 80 }) });
  }

  /** Line and column (1-based) of the main cursor. */
  cursorPosition(): { line: number; column: number } {
    const head = this.view.state.selection.main.head;
    const line = this.view.state.doc.lineAt(head);
    return { line: line.number, column: head - line.from + 1 };
  }

  focus(): void {
    this.view.focus();
  }

  destroy(): void {
    this.destroyed = true;
    if (this.selectionTimer !== undefined) clearTimeout(this.selectionTimer);
    this.view.destroy();
    this.dom.remove();
  }

  private async loadLanguage(): Promise<void> {
    const path = this.path;
    const loaded = await loadLanguage(path);
    if (this.destroyed || path !== this.path) return;
    this.language = loaded?.name ?? '';
    this.view.dispatch({ effects: this.languageConf.reconfigure(loaded ? loaded.support : []) });
    this.host.changed(this);
  }
}

/** Special characters as CodeMirror shows them, except "\r" (a CRLF line end), which is invisible. */
function renderSpecialChar(code: number, description: string | null, placeholder: string): HTMLElement {
  if (code === 13) return h('span', { class: 'cm-chorus-cr', 'aria-hidden': 'true' });
  return h('span', { class: 'cm-specialChar', title: description ? `Control character ${description}` : undefined, 'aria-label': description ?? undefined }, placeholder);
}
