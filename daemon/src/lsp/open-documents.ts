/**
 * The bridge's bookkeeping of the documents an LSP client has open: the client names each by URI,
 * the daemon by project path, and after a rename the two part (decision 158). LSP gives a server
 * no way to move a client's document to a file that is already at its new name, so a renamed
 * document stays under its old URI and keeps syncing at its new path until the client opens the
 * new name; then the new URI's document takes the daemon's buffer and the old URI is retired:
 * it is no longer shared, and closing it closes nothing on the daemon.
 */
import type { TextDocumentContentChangeEvent, TextDocumentItem } from 'vscode-languageserver';
import { applyOp } from '../text/text-op.js';
import type { Encoding } from '../text/positions.js';
import type { DocumentSync } from './document-sync.js';
import { contentChangeToOp } from './text-edits.js';

/** A URI whose document stopped being shared because its file is now open under another URI. */
export interface Retired {
  /** The project path its text went to. */
  path: string;
  /** The person was told that a change there was not shared (said once). */
  toldOfChange: boolean;
}

/**
 * A document the client opened while no daemon was connected (stopped with `chorus stop`, or
 * reconnecting): not shared yet, its text kept as the client changes it, and opened with the
 * daemon when one is connected again (decision 186).
 */
export interface Waiting {
  /** The client's document as it is now (text and version). */
  item: TextDocumentItem;
  /** The text last known to be the project's (the file as read when opened; '' for a new file): the `base` of its buffer/open, so what the person typed meanwhile is merged. */
  base: string;
}

export class OpenDocuments {
  private readonly byUri = new Map<string, DocumentSync>();
  private readonly waitingByUri = new Map<string, Waiting>();
  private readonly uriByPath = new Map<string, string>();
  private readonly retired = new Map<string, Retired>();
  /** URI → the project path the client's URI names (the document's path until a rename). */
  private readonly named = new Map<string, string>();

  /** The document the client has open as `uri`, if it is shared. */
  get(uri: string): DocumentSync | undefined {
    return this.byUri.get(uri);
  }

  /** The document open at project path `path` (whatever URI the client gives it). */
  at(path: string): DocumentSync | undefined {
    const uri = this.uriByPath.get(path);
    return uri === undefined ? undefined : this.byUri.get(uri);
  }

  values(): IterableIterator<DocumentSync> {
    return this.byUri.values();
  }

  /** The project path the client calls `doc` by: its URI's, which after a rename is not the document's path. */
  nameOf(doc: DocumentSync): string {
    return this.named.get(doc.uri) ?? doc.path;
  }

  /** A document the daemon opened for the client: it now holds its path. */
  add(doc: DocumentSync): void {
    this.retired.delete(doc.uri);
    this.byUri.set(doc.uri, doc);
    this.uriByPath.set(doc.path, doc.uri);
    this.named.set(doc.uri, doc.path);
  }

  /** The client closed `uri`: forget it (a retired URI was not shared: nothing to close). */
  remove(uri: string): DocumentSync | undefined {
    this.retired.delete(uri);
    const doc = this.byUri.get(uri);
    if (!doc) return undefined;
    this.byUri.delete(uri);
    this.named.delete(uri);
    if (this.uriByPath.get(doc.path) === uri) this.uriByPath.delete(doc.path);
    return doc;
  }

  /**
   * The daemon moved the buffer at `from` to `to` (`buffer/didRename`, or a rename in
   * `workspace/didChange`): the document keeps its URI and syncs at `to`. Returns it, with the
   * document it displaced at `to` (another URI of the client's, whose daemon buffer the moved one
   * now is), if any; undefined when nothing is open at `from`.
   */
  move(from: string, to: string): { doc: DocumentSync; displaced: DocumentSync | undefined } | undefined {
    const uri = this.uriByPath.get(from);
    const doc = uri === undefined ? undefined : this.byUri.get(uri);
    if (!doc) return undefined;
    this.uriByPath.delete(from);
    const there = this.at(to);
    const displaced = there && there !== doc ? there : undefined;
    doc.path = to;
    this.uriByPath.set(to, doc.uri);
    return { doc, displaced };
  }

  /**
   * Stop sharing `doc` (its path is now another URI's): what it typed and still held back is
   * sent first, and its URI is remembered so that the person can be told what happens there.
   */
  retire(doc: DocumentSync): void {
    doc.close();
    this.byUri.delete(doc.uri);
    this.named.delete(doc.uri);
    if (this.uriByPath.get(doc.path) === doc.uri) this.uriByPath.delete(doc.path);
    this.retired.set(doc.uri, { path: doc.path, toldOfChange: false });
    if (this.retired.size > 1000) this.retired.delete(this.retired.keys().next().value!);
  }

  /** Whether `uri` was retired, and where its file is now. */
  retiredAt(uri: string): Retired | undefined {
    return this.retired.get(uri);
  }

  /** `item` was opened while no daemon was connected: keep it (a copy) until one is. */
  wait(item: TextDocumentItem, base: string): void {
    this.waitingByUri.set(item.uri, { item: { ...item }, base });
  }

  /**
   * A didChange for `uri`: applied to its text if it is waiting (true), else false. A change
   * that does not fit the text throws; the document is then forgotten (the caller says so).
   */
  changeWaiting(uri: string, changes: TextDocumentContentChangeEvent[], version: number, encoding: Encoding): boolean {
    const w = this.waitingByUri.get(uri);
    if (!w) return false;
    try {
      for (const c of changes) w.item.text = applyOp(w.item.text, contentChangeToOp(w.item.text, c, encoding));
    } catch (e) {
      this.waitingByUri.delete(uri);
      throw e;
    }
    w.item.version = version;
    return true;
  }

  /** The client closed `uri`: whether it was waiting (it is forgotten). */
  forgetWaiting(uri: string): boolean {
    return this.waitingByUri.delete(uri);
  }

  /** The URIs of the waiting documents. */
  waitingUris(): string[] {
    return [...this.waitingByUri.keys()];
  }

  /** The waiting document `uri`, forgotten here (the caller opens it with the daemon now). */
  takeWaiting(uri: string): Waiting | undefined {
    const w = this.waitingByUri.get(uri);
    this.waitingByUri.delete(uri);
    return w;
  }
}
