/**
 * A scripted PagePeer for the UI's own tests (test/browser/ui.test.ts) and its screenshot: an
 * in-memory project that records every call the UI makes, applies edits to its own copy of each
 * text (so a test can compare), keeps an own-edit undo stack, and lets the test play the other
 * side (remote edits, people moving, status changes, renames). Runs in the page; never shipped.
 */
import { ChangeSet, Text } from '@codemirror/state';
import type { ChangeOrigin, FileItem, OpenedFile, PagePeer, PagePeerEvents, PeerStatus, Person, SelectionRange, TextChange } from '../../clients/browser/src/peer-api.js';

/** One recorded call of the UI into the peer. */
export interface Call {
  method: string;
  args: unknown[];
}

/** How a test sets the fake up. */
export interface FakeProject {
  files: Record<string, string>;
  /** Paths listed as not editable (binary, too large). */
  binary?: string[];
  people?: Person[];
  status?: Partial<PeerStatus>;
}

type Listeners = { [E in keyof PagePeerEvents]: Set<PagePeerEvents[E]> };

function toText(s: string): Text {
  return Text.of(s.split('\n'));
}

/** The fake peer. Public fields and the `remote*`/`set*` methods are the test's controls. */
export class FakePeer implements PagePeer {
  readonly calls: Call[] = [];
  readonly texts = new Map<string, string>();
  readonly binary: Set<string>;
  peopleList: Person[];
  statusValue: PeerStatus;
  /** When set, the next call of this method throws this message (then the rule is cleared). */
  failNext: { method: string; message: string } | undefined;
  /** When set, the next `edit` is answered at once, inside the call, by this change from someone else. */
  answerNextEdit: TextChange[] | undefined;
  private readonly undoStacks = new Map<string, { undo: ChangeSet[]; redo: ChangeSet[] }>();
  private readonly listeners: Listeners = { status: new Set(), files: new Set(), text: new Set(), people: new Set(), moved: new Set(), notice: new Set() };

  constructor(project: FakeProject) {
    for (const [path, text] of Object.entries(project.files)) this.texts.set(path, text);
    this.binary = new Set(project.binary ?? []);
    this.peopleList = project.people ?? [{ id: 'me', name: 'Me', color: '#4b63d8', self: true, editor: 'browser' }];
    this.statusValue = { state: 'online', readOnly: false, peers: 1, unacknowledged: 0, ...project.status };
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args: JSON.parse(JSON.stringify(args ?? [])) as unknown[] });
    if (this.failNext?.method === method) {
      const message = this.failNext.message;
      this.failNext = undefined;
      throw new Error(message);
    }
  }

  private emit<E extends keyof PagePeerEvents>(event: E, ...args: Parameters<PagePeerEvents[E]>): void {
    for (const fn of this.listeners[event]) (fn as (...a: Parameters<PagePeerEvents[E]>) => void)(...args);
  }

  private apply(path: string, changes: TextChange[]): ChangeSet {
    const before = toText(this.texts.get(path) ?? '');
    const set = ChangeSet.of(changes, before.length, '\n');
    this.texts.set(path, set.apply(before).sliceString(0, undefined, '\n'));
    return set.invert(before);
  }

  private stack(path: string): { undo: ChangeSet[]; redo: ChangeSet[] } {
    let s = this.undoStacks.get(path);
    if (!s) this.undoStacks.set(path, (s = { undo: [], redo: [] }));
    return s;
  }

  // ---- PagePeer ----

  status(): PeerStatus {
    return { ...this.statusValue };
  }

  files(): FileItem[] {
    return [...this.texts.keys()].sort().map((path) => ({ path, kind: 'file', editable: !this.binary.has(path) }));
  }

  async open(path: string): Promise<OpenedFile> {
    this.record('open', path);
    const text = this.texts.get(path);
    if (text === undefined) throw new Error(`${path} is not in the project (any more).`);
    await new Promise((r) => setTimeout(r, 5));
    return { path, text: this.texts.get(path) ?? text, editable: !this.binary.has(path) };
  }

  close(path: string): void {
    this.record('close', path);
  }

  edit(path: string, changes: TextChange[]): void {
    this.record('edit', path, changes);
    if (this.statusValue.readOnly) throw new Error('This session is read-only.');
    const inverse = this.apply(path, changes);
    const s = this.stack(path);
    s.undo.push(inverse);
    s.redo = [];
    const answer = this.answerNextEdit;
    this.answerNextEdit = undefined;
    if (answer) this.remoteEdit(path, answer);
  }

  undo(path: string): boolean {
    this.record('undo', path);
    return this.step(path, 'undo');
  }

  redo(path: string): boolean {
    this.record('redo', path);
    return this.step(path, 'redo');
  }

  private step(path: string, which: 'undo' | 'redo'): boolean {
    const s = this.stack(path);
    const set = (which === 'undo' ? s.undo : s.redo).pop();
    if (!set) return false;
    const changes: TextChange[] = [];
    set.iterChanges((fromA, toA, _fromB, _toB, inserted) => changes.push({ from: fromA, to: toA, insert: inserted.sliceString(0, undefined, '\n') }));
    const inverse = this.apply(path, changes);
    (which === 'undo' ? s.redo : s.undo).push(inverse);
    setTimeout(() => this.emit('text', path, changes, 'undo'), 0);
    return true;
  }

  setSelections(path: string, selections: SelectionRange[]): void {
    this.record('setSelections', path, selections);
    const me = this.peopleList.find((p) => p.self);
    if (me) {
      me.file = path;
      me.selections = selections;
    }
  }

  people(): Person[] {
    return this.peopleList.map((p) => ({ ...p }));
  }

  setName(name: string): void {
    this.record('setName', name);
    const me = this.peopleList.find((p) => p.self);
    if (me) me.name = name;
    this.emit('people');
  }

  async create(path: string, text = ''): Promise<void> {
    this.record('create', path, text);
    if (this.texts.has(path)) throw new Error(`${path} already exists.`);
    this.texts.set(path, text);
    this.emit('files');
  }

  async rename(from: string, to: string): Promise<void> {
    this.record('rename', from, to);
    const text = this.texts.get(from);
    if (text === undefined) throw new Error(`${from} is not in the project.`);
    if (this.texts.has(to)) throw new Error(`${to} already exists.`);
    this.texts.delete(from);
    this.texts.set(to, text);
    this.emit('files');
    this.emit('moved', from, to);
  }

  async remove(path: string): Promise<void> {
    this.record('remove', path);
    if (!this.texts.delete(path)) throw new Error(`${path} is not in the project.`);
    this.emit('files');
    this.emit('moved', path, undefined);
  }

  on<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    (this.listeners[event] as Set<PagePeerEvents[E]>).add(fn);
  }

  off<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    (this.listeners[event] as Set<PagePeerEvents[E]>).delete(fn);
  }

  // ---- The other side, played by the test ----

  /** Someone else changed `path`. */
  remoteEdit(path: string, changes: TextChange[], origin: ChangeOrigin = 'remote'): void {
    this.apply(path, changes);
    this.emit('text', path, changes, origin);
  }

  /** Replace the people list (self included) and announce it. */
  setPeople(people: Person[]): void {
    this.peopleList = people;
    this.emit('people');
  }

  setStatus(status: Partial<PeerStatus>): void {
    this.statusValue = { ...this.statusValue, ...status };
    this.emit('status', this.status());
  }

  /** Someone else renamed (`to`) or deleted a file. */
  remoteMove(from: string, to: string | undefined): void {
    const text = this.texts.get(from);
    this.texts.delete(from);
    if (to !== undefined && text !== undefined) this.texts.set(to, text);
    this.emit('files');
    this.emit('moved', from, to);
  }

  /** The peer tells the person something (a copy kept): the `notice` event. */
  notice(type: 'error' | 'warning' | 'info', message: string): void {
    this.emit('notice', type, message);
  }

  /** Someone else created a file. */
  remoteCreate(path: string, text = ''): void {
    this.texts.set(path, text);
    this.emit('files');
  }

  /** Calls of one method. */
  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}
