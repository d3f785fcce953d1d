/**
 * The seam between the browser page's user interface (src/ui/) and the Chorus peer running in the
 * page (src/peer/). The UI renders and forwards; the peer owns every document, the connection,
 * presence and undo — the same split as an editor plugin and its daemon, without the JSON-RPC hop.
 *
 * Offsets are UTF-16 code units into the file's current text (what JavaScript strings and
 * CodeMirror 6 count). Changes use CodeMirror's ChangeSet convention: a list of non-overlapping
 * changes sorted by `from`, every position counted in the text *before* the whole list, so a
 * CodeMirror transaction's `changes.iterChanges((fromA, toA, _fromB, _toB, text) => …)` maps 1:1.
 */

/** One change to a file's text; positions in the text before the list it belongs to. */
export interface TextChange {
  from: number;
  to: number;
  insert: string;
}

/** A selection or cursor: `anchor === head` is a bare cursor. */
export interface SelectionRange {
  anchor: number;
  head: number;
}

/** One entry of the shared file index. `live`: it has a text document (editable here). */
export interface FileItem {
  path: string;
  kind: 'file' | 'dir';
  /** False for binary files and files too large to edit: the UI shows them read-only or not at all. */
  editable: boolean;
}

/** Someone in the session, this person included (`self`). */
export interface Person {
  id: string;
  name: string;
  /** CSS colour, stable per person. */
  color: string;
  self: boolean;
  /** The editor they use ('browser', 'neovim', 'vscode', 'emacs', …) when known. */
  editor?: string;
  /** The file they look at, and their selections in it, when known. */
  file?: string;
  selections?: SelectionRange[];
}

/** Connection state, for the status bar. */
export interface PeerStatus {
  state: 'connecting' | 'online' | 'offline' | 'refused';
  /** What happened and what to do, for a person: set when `offline` or `refused`. */
  message?: string;
  /** A read-only join code: the editor must refuse typing. */
  readOnly: boolean;
  /** Peers linked right now. */
  peers: number;
  /** Local edits not yet acknowledged by any peer (kept in IndexedDB meanwhile). */
  unacknowledged: number;
}

/** An opened file's text. */
export interface OpenedFile {
  path: string;
  text: string;
  editable: boolean;
}

/** Where a text change came from: this page (`local`), its undo/redo, or anyone else (`remote`). */
export type ChangeOrigin = 'local' | 'undo' | 'remote';

export interface PagePeerEvents {
  status: (status: PeerStatus) => void;
  /** The file index changed (created, renamed, deleted files); call `files()` again. */
  files: () => void;
  /** An open file's text changed by something other than this page's own `edit` call. */
  text: (path: string, changes: TextChange[], origin: ChangeOrigin) => void;
  /** Someone joined, left, moved, or changed their name; call `people()` again. */
  people: () => void;
  /** An open file was renamed (`to`) or deleted (`to` undefined) by someone. */
  moved: (from: string, to: string | undefined) => void;
  /**
   * Something the person must know that happened to the files (a conflict's other version kept
   * beside a file, a deleted file kept because it was being edited, a change not saved yet): what
   * the daemon's editors get as session/notice (decision 184). `type` as in LSP's showMessage.
   */
  notice: (type: 'error' | 'warning' | 'info', message: string) => void;
}

/**
 * The Chorus peer in the page. Methods that change shared state throw `Error` with a message a
 * person can read (read-only session, bad path, file gone); they never half-apply.
 */
export interface PagePeer {
  status(): PeerStatus;
  files(): FileItem[];
  /** Fetches the file's content from peers if this page lacks it (files load when opened). */
  open(path: string): Promise<OpenedFile>;
  close(path: string): void;
  /** Apply this page's own edit (already shown in the editor). */
  edit(path: string, changes: TextChange[]): void;
  /** Undo / redo this person's own last edit step in the file; the result arrives as a `text` event with origin `undo`. False if there was nothing to undo. */
  undo(path: string): boolean;
  redo(path: string): boolean;
  /** This person's selections in the file they look at (presence). */
  setSelections(path: string, selections: SelectionRange[]): void;
  people(): Person[];
  /** This person's display name; remembered by the page (localStorage) by whoever calls this. */
  setName(name: string): void;
  create(path: string, text?: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  on<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void;
  off<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void;
}
