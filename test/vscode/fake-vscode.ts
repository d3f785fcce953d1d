/**
 * A small fake of the part of the `vscode` API the extension uses, for unit tests of its logic.
 * It copies the behaviours that matter for buffer sync: Position keeps line/character behind
 * getters (a spread drops them), a document normalises inserted line breaks to its EOL, every
 * applied edit bumps the version and fires onDidChangeTextDocument with the changes listed from
 * the end of the document backwards, and `applyEdit` refuses an edit when the document changed
 * since it was made (VS Code's "has changed in the meantime") unless the change lands after that
 * check (`landBeforeNextApply`), and `reload` replaces a document's text as a reload from disk does;
 * `openTextDocument` reads a file from disk into a new document once. `showEditor` gives a document
 * an editor whose `edit` is refused when the document changed since it was made, as VS Code's
 * TextEditor.edit (it carries the version; `typeBeforeNextApply` lands before its check too).
 */
import fs from 'node:fs';
import type { Vscode, vscode } from '../../clients/vscode/src/vscode-api.js';

export class Position {
  readonly #line: number;
  readonly #character: number;
  constructor(line: number, character: number) {
    this.#line = line;
    this.#character = character;
  }
  get line(): number {
    return this.#line;
  }
  get character(): number {
    return this.#character;
  }
  isEqual(o: Position): boolean {
    return o.line === this.line && o.character === this.character;
  }
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = typeof a === 'number' ? new Position(a, b as number) : a;
    this.end = typeof a === 'number' ? new Position(c!, d!) : (b as Position);
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
  get isEmpty(): boolean {
    return this.anchor.isEqual(this.active);
  }
}

interface Replace {
  uri: string;
  range: Range;
  text: string;
}

export class WorkspaceEdit {
  readonly edits: Replace[] = [];
  replace(uri: { toString(): string }, range: Range, text: string): void {
    this.edits.push({ uri: uri.toString(), range, text });
  }
}

export class FakeUri {
  constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
  static file(p: string): FakeUri {
    return new FakeUri('file', p);
  }
  /** The inverse of toString. */
  static parse(s: string): FakeUri {
    const [scheme, rest] = s.split('://') as [string, string];
    return new FakeUri(scheme, rest);
  }
}

export class FakeDocument {
  version = 1;
  isDirty = false;
  isClosed = false;
  constructor(
    readonly uri: FakeUri,
    public text: string,
    readonly eol: '\n' | '\r\n' = text.includes('\r\n') ? '\r\n' : '\n',
    readonly isUntitled = false,
  ) {}
  getText(): string {
    return this.text;
  }
  get lineCount(): number {
    return this.text.split('\n').length;
  }
  offsetAt(p: Position): number {
    const lines = this.text.split('\n');
    let off = 0;
    for (let l = 0; l < p.line && l < lines.length; l++) off += lines[l]!.length + 1;
    const line = (lines[p.line] ?? '').replace(/\r$/, '');
    return off + Math.min(p.character, line.length);
  }
  positionAt(offset: number): Position {
    const before = this.text.slice(0, offset);
    const line = before.split('\n').length - 1;
    return new Position(line, offset - (before.lastIndexOf('\n') + 1));
  }
  lineAt(line: number): { range: Range } {
    const text = (this.text.split('\n')[line] ?? '').replace(/\r$/, '');
    return { range: new Range(new Position(line, 0), new Position(line, text.length)) };
  }
  validatePosition(p: Position): Position {
    return this.positionAt(this.offsetAt(p));
  }
  /** Saved (the file is left as it is: a test writes what VS Code would). */
  save(): Promise<boolean> {
    this.isDirty = false;
    return Promise.resolve(true);
  }
}

/** An editor showing a document (`window.visibleTextEditors`), its caret at the end. */
export class FakeEditor {
  selections: Selection[];
  readonly viewColumn = 1;
  constructor(
    readonly document: FakeDocument,
    private readonly vs: FakeVscode,
  ) {
    const end = document.positionAt(document.text.length);
    this.selections = [new Selection(end, end)];
  }
  get selection(): Selection {
    return this.selections[0]!;
  }
  set selection(s: Selection) {
    this.selections = [s];
  }
  /** VS Code's TextEditor.edit: made on the text the extension knows, refused if it changed since. */
  async edit(build: (eb: { replace(range: Range, text: string): void }) => void): Promise<boolean> {
    const doc = this.document;
    const version = doc.version;
    const edits: Array<{ from: number; to: number; text: string }> = [];
    build({ replace: (range, text) => edits.push({ from: doc.offsetAt(range.start), to: doc.offsetAt(range.end), text }) });
    await Promise.resolve();
    this.vs.typingBefore(doc)?.();
    if (doc.version !== version) return false; // the main thread's version check
    this.vs.type(doc, edits);
    return true;
  }
}

type ChangeListener = (e: vscode.TextDocumentChangeEvent) => void;

/** The fake API plus handles to drive it. */
export class FakeVscode {
  readonly listeners: ChangeListener[] = [];
  readonly documents: FakeDocument[] = [];
  readonly warnings: string[] = [];
  /** Information and error messages shown (window.showInformationMessage, showErrorMessage). */
  readonly shown: Array<{ level: 'info' | 'error'; message: string }> = [];
  /** Edits (as the person types) that land on the main thread before our next applyEdit. */
  typeBeforeNextApply: (() => void) | undefined;
  /** If set, `typeBeforeNextApply` waits for an applyEdit to this document. */
  typeBeforeNextApplyTo: FakeDocument | undefined;
  /**
   * A change that lands after VS Code checked our next applyEdit's version and before it applied
   * it: the edit then applies anyway, at its line/character positions on the changed text. Real
   * VS Code (code-server 4.100.3) did this under a reload from disk (decision 133).
   */
  landBeforeNextApply: (() => void) | undefined;
  /** If set, `landBeforeNextApply` waits for an applyEdit to this document. */
  landBeforeNextApplyTo: FakeDocument | undefined;
  /** If set, every applyEdit waits for it (VS Code busy taking a burst of changes). */
  applyHold: Promise<void> | undefined;
  /** The editors shown (`window.visibleTextEditors`); none unless a test calls `showEditor`. */
  readonly editors: FakeEditor[] = [];

  readonly api = {
    Position,
    Range,
    Selection,
    WorkspaceEdit,
    Uri: FakeUri,
    workspace: {
      applyEdit: (edit: WorkspaceEdit) => this.applyEdit(edit),
      textDocuments: this.documents,
      // A file's document, read from disk the first time (as VS Code opens a file).
      openTextDocument: (uri: FakeUri) => Promise.resolve(this.documents.find((d) => d.uri.toString() === uri.toString()) ?? this.document(uri.fsPath, fs.readFileSync(uri.fsPath, 'utf8'))),
    },
    window: {
      // No editors unless a test shows one: most tests drive documents only.
      visibleTextEditors: this.editors,
      activeTextEditor: undefined,
      showWarningMessage: (m: string) => {
        this.warnings.push(m);
        return Promise.resolve(undefined);
      },
      showErrorMessage: (m: string) => {
        this.shown.push({ level: 'error', message: m });
        return Promise.resolve(undefined);
      },
      showInformationMessage: (m: string) => {
        this.shown.push({ level: 'info', message: m });
        return Promise.resolve(undefined);
      },
    },
  } as unknown as Vscode;

  document(path: string, text: string, opts: { scheme?: string; untitled?: boolean } = {}): FakeDocument {
    const d = new FakeDocument(new FakeUri(opts.scheme ?? 'file', path), text, undefined, opts.untitled);
    this.documents.push(d);
    return d;
  }

  /** Show `doc` in an editor (its caret at the end). */
  showEditor(doc: FakeDocument): FakeEditor {
    const editor = new FakeEditor(doc, this);
    this.editors.push(editor);
    return editor;
  }

  /** The typing to land before the next edit of `doc` is applied, taken (it lands once). */
  typingBefore(doc: FakeDocument): (() => void) | undefined {
    const typing = this.typeBeforeNextApplyTo && this.typeBeforeNextApplyTo !== doc ? undefined : this.typeBeforeNextApply;
    if (typing) this.typeBeforeNextApply = this.typeBeforeNextApplyTo = undefined;
    return typing;
  }

  /** The person (or another extension) edits: replacements on the current text, all at once. */
  type(doc: FakeDocument, edits: Array<{ from: number; to: number; text: string }>, reason?: number): void {
    // Listed from the end backwards, as VS Code does for multi-cursor edits.
    const sorted = [...edits].sort((a, b) => b.from - a.from);
    const changes = sorted.map((e) => {
      const text = e.text.replace(/\r?\n/g, doc.eol);
      return { range: new Range(doc.positionAt(e.from), doc.positionAt(e.to)), rangeOffset: e.from, rangeLength: e.to - e.from, text };
    });
    for (const c of changes) doc.text = doc.text.slice(0, c.rangeOffset) + c.text + doc.text.slice(c.rangeOffset + c.rangeLength);
    doc.version++;
    doc.isDirty = true;
    for (const l of this.listeners) l({ document: doc, contentChanges: changes, reason } as unknown as vscode.TextDocumentChangeEvent);
  }

  /** VS Code reloads a document it has no unsaved changes in from its file, which now holds `text`. */
  reload(doc: FakeDocument, text: string): void {
    const changes = [{ range: new Range(doc.positionAt(0), doc.positionAt(doc.text.length)), rangeOffset: 0, rangeLength: doc.text.length, text }];
    doc.text = text;
    doc.version++;
    doc.isDirty = false;
    for (const l of this.listeners) l({ document: doc, contentChanges: changes, reason: undefined } as unknown as vscode.TextDocumentChangeEvent);
  }

  private async applyEdit(edit: WorkspaceEdit): Promise<boolean> {
    await Promise.resolve();
    if (this.applyHold) await this.applyHold;
    const doc = this.documents.find((d) => d.uri.toString() === edit.edits[0]?.uri);
    if (!doc) return false;
    const version = doc.version;
    this.typingBefore(doc)?.();
    if (doc.version !== version) return false; // "has changed in the meantime"
    const late = this.landBeforeNextApplyTo && this.landBeforeNextApplyTo !== doc ? undefined : this.landBeforeNextApply;
    if (late) this.landBeforeNextApply = this.landBeforeNextApplyTo = undefined;
    late?.();
    this.type(
      doc,
      edit.edits.map((e) => ({ from: doc.offsetAt(e.range.start), to: doc.offsetAt(e.range.end), text: e.text })),
    );
    return true;
  }

  onDidChangeTextDocument(l: ChangeListener): void {
    this.listeners.push(l);
  }
}

/** A fake connection: records requests, answers with `handlers` (by method), else null. */
export class FakeRpc {
  readonly requests: Array<{ method: string; params: any }> = [];
  handlers: Record<string, (params: any) => unknown> = {};
  sendRequest<R>(type: { method: string }, params: unknown): Promise<R> {
    this.requests.push({ method: type.method, params });
    const h = this.handlers[type.method];
    try {
      return Promise.resolve((h ? h(params) : null) as R);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  of(method: string): any[] {
    return this.requests.filter((r) => r.method === method).map((r) => r.params);
  }
}

/** Let promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
