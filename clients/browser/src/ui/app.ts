/**
 * The page a join link opens: file tree, tabs with a CodeMirror editor each, people (with follow),
 * status bar, notices and dialogs, all driven by a {@link PagePeer}. The UI holds no project state
 * of its own beyond what is on screen: the peer owns documents, presence, undo and the connection,
 * and the UI forwards what the person does and renders what the peer reports.
 *
 * The editors live in a shadow root: CodeMirror injects its base styles into the document as a
 * <style> element, which a strict Content-Security-Policy (`style-src 'self'`) blocks, but into a
 * shadow root as a constructed stylesheet, which it allows (decision 087).
 */
import type { FileItem, PagePeer, Person, PeerStatus, TextChange, ChangeOrigin } from '../peer-api.js';
import { showMenu, closeMenu, type MenuItem } from './context-menu.js';
import { askText, confirmAction } from './dialog.js';
import { baseName, dirName, h, messageOf, oncePerFrame, replaceChildren, safeColor, shownName } from './dom.js';
import { FileEditor, type FileEditorHost } from './editor.js';
import { FileTree } from './file-tree.js';
import { Notices } from './notices.js';
import { changeName, ensureName, rememberedName } from './own-name.js';
import { rememberTabs, rememberedTabs } from './open-tabs-memory.js';
import { PeopleList } from './people-list.js';
import { sidebarHandle } from './sidebar-resize.js';
import { StatusBar } from './status-bar.js';
import { Tabs } from './tabs.js';
import { pathProblem } from '../../../../daemon/src/workspace/path-rules.js';

/**
 * Build the page's user interface inside `root` and wire it to `peer`. Call once per page; the
 * document must load this folder's page.css (index.html links it; a bundle that imports it emits
 * it under its own name, which works as well).
 */
export function mountApp(root: HTMLElement, peer: PagePeer): void {
  new App(root, peer);
}

/**
 * The document's stylesheets, linked again for the editors' shadow root (styles do not cross
 * its boundary): whatever the page's build names them (page.css here, a bundler's main.css), the
 * editors get the same rules. Without any, `page.css` next to the document.
 */
function stylesheetLinks(): HTMLLinkElement[] {
  const links = [...document.querySelectorAll<HTMLLinkElement>('link[rel~="stylesheet"][href]')].map((l) => h('link', { rel: 'stylesheet', href: l.href }));
  return links.length > 0 ? links : [h('link', { rel: 'stylesheet', href: new URL('page.css', document.baseURI).href })];
}

/** What the page says while no file is open: to a member who may edit, and to a read-only one. */
const EMPTY_TEXT = {
  editable: { title: 'Open a file from the list to start editing.', hint: 'Everyone in the session sees what you type as you type it. Ctrl+Z undoes only your own edits.' },
  readOnly: { title: 'Open a file from the list to follow it.', hint: 'This session is read-only for you: you see everyone\'s typing as it happens, and cannot change files.' },
} as const;

class App implements FileEditorHost {
  private readonly editors = new Map<string, FileEditor>();
  /** Open files in tab order. */
  private order: string[] = [];
  private active: string | undefined;
  /** Files being fetched; `stale` when a `text` event arrived meanwhile (the editor then resyncs). */
  private readonly opening = new Map<string, { promise: Promise<FileEditor | undefined>; stale: boolean }>();
  private following: string | undefined;
  private nameAsked = false;
  /** Renames and deletions this page asked for, as `from\0to`: their `moved` events need no notice. */
  private readonly ownMoves = new Set<string>();
  /** Tabs open before a reload, reopened as their files appear in the index. */
  private toRestore = rememberedTabs();
  /**
   * Files open here that someone else deleted (their tab closed, a notice offering them back).
   * A peer's typing or a restore may bring such a file back (decision 207): then the notice says so.
   */
  private readonly deletedWhileOpen = new Set<string>();
  /** Files whose "in the project again" notice shows: it goes when they are opened or gone again. */
  private readonly returned = new Set<string>();
  private status: PeerStatus;
  private people: Person[] = [];
  /** Per editor, what its remote selections were last set from (skip redundant dispatches). */
  private readonly shownSelections = new WeakMap<FileEditor, string>();
  private readonly darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

  private readonly tree: FileTree;
  private readonly tabs: Tabs;
  private readonly peopleList: PeopleList;
  private readonly statusBar = new StatusBar();
  private readonly notices = new Notices();
  private readonly editorArea: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly followBar: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly nameButton: HTMLElement;
  private readonly main: HTMLElement;
  private readonly shadow: ShadowRoot;

  constructor(
    private readonly root: HTMLElement,
    readonly peer: PagePeer,
  ) {
    this.status = peer.status();
    this.tree = new FileTree({
      open: (path) => void this.open(path),
      menu: (item, x, y) => this.fileMenu(item, x, y),
      create: (folder) => void this.createFile(folder),
      rename: (item) => void this.renameFile(item),
      remove: (item) => void this.removeFile(item),
      userAction: () => this.userAction(),
    });
    this.tabs = new Tabs({
      activate: (path) => {
        this.userAction();
        this.activate(path, true);
      },
      close: (path) => {
        this.userAction();
        this.closeFile(path);
      },
    });
    this.peopleList = new PeopleList({
      follow: (id) => this.follow(id),
      changeName: () => void this.changeName(),
    });

    // The editors' shadow root (see the file header) with the page's stylesheet.
    this.editorArea = h('div', { class: 'editors' });
    this.emptyState = h(
      'div',
      { class: 'empty-state', 'data-testid': 'empty-state' },
      h('div', { class: 'empty-mark', 'aria-hidden': 'true' }),
      h('p', { class: 'empty-title' }, EMPTY_TEXT.editable.title),
      h('p', { class: 'empty-hint' }, EMPTY_TEXT.editable.hint),
    );
    const editorHost = h('div', { class: 'editor-host' });
    const shadow = editorHost.attachShadow({ mode: 'open' });
    this.shadow = shadow;
    shadow.append(...stylesheetLinks(), this.editorArea);

    this.followBar = h('div', { class: 'follow-bar', hidden: true, 'data-testid': 'follow-bar' });
    this.banner = h('div', { class: 'banner', hidden: true, role: 'alert', 'data-testid': 'banner' });
    this.nameButton = h('button', { type: 'button', class: 'name-button', 'data-testid': 'own-name', title: 'Change your name', onclick: () => void this.changeName() });
    this.main = h('main', { class: 'main' }, this.tabs.dom, this.followBar, this.banner, h('div', { class: 'editor-frame' }, editorHost, this.emptyState));

    root.classList.add('chorus-app');
    root.classList.remove('loading');
    replaceChildren(
      root,
      h(
        'aside',
        { class: 'sidebar' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('span', { class: 'brand-name' }, 'Chorus'), h('span', { class: 'read-only-badge', hidden: true, 'data-testid': 'read-only-badge' }, 'Read-only'), this.nameButton),
        this.tree.dom,
        this.peopleList.dom,
      ),
      sidebarHandle(root),
      this.main,
      this.statusBar.dom,
      this.notices.dom,
    );

    peer.on('status', (status) => this.onStatus(status));
    peer.on('files', oncePerFrame(() => this.onFiles()));
    peer.on('text', (path, changes, origin) => this.onText(path, changes, origin)); // at once: positions refer to the text now
    peer.on('people', oncePerFrame(() => this.onPeople()));
    peer.on('moved', (from, to) => this.onMoved(from, to, this.ownMoves.has(`${from}\0${to ?? ''}`)));
    // What happened to the files (a copy kept, a change not saved yet): an error stays until
    // dismissed, anything else for 10 s; names in it shown with bidi controls visible.
    peer.on('notice', (type, message) => this.notices.show(shownName(message), type === 'error' ? 'error' : 'info', `notice:${message}`, type === 'error' ? undefined : 10_000));
    this.darkQuery.addEventListener('change', () => this.editors.forEach((e) => e.reconfigure()));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.following) this.follow(undefined);
      if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === 'p') {
        // Ctrl+P / Cmd+P: go to a file (the page has nothing to print).
        e.preventDefault();
        this.userAction();
        this.tree.focusFilter();
      } else if (key === 's') {
        // Habit from other editors: there is nothing to save, and the browser's "save page" would only confuse.
        e.preventDefault();
        this.notices.show('Nothing to save: every edit reaches the others, and the files on their disks, as you type.', 'info', 'save', 4000);
      }
    });

    this.onStatus(this.status);
    this.onFiles();
    this.showName(rememberedName() ?? '');
    this.onPeople(); // the peer's own idea of this person's name, when it has one, wins
    this.updateView();
    this.askNameOnce();
  }

  // ---- FileEditorHost -------------------------------------------------------------------------

  sessionReadOnly(): boolean {
    return this.status.readOnly;
  }

  dark(): boolean {
    return this.darkQuery.matches;
  }

  editorRoot(): ShadowRoot {
    return this.shadow;
  }

  refused(reason: string): void {
    this.notices.show(reason, 'info', 'read-only', 4000);
  }

  error(message: string): void {
    this.notices.error(message);
  }

  /** Anything the person does themselves stops following someone. */
  userAction(): void {
    if (this.following) this.follow(undefined);
  }

  changed(editor: FileEditor): void {
    if (editor.path === this.active) this.statusBar.setCursor(editor.cursorPosition(), editor.language);
  }

  // ---- Files and tabs -------------------------------------------------------------------------

  /** Open `path` in a tab (or switch to it). */
  async open(path: string, focus = true): Promise<FileEditor | undefined> {
    const existing = this.editors.get(path);
    if (existing) {
      this.activate(path, focus);
      return existing;
    }
    const pending = this.opening.get(path);
    if (pending) return pending.promise;
    const entry = { promise: this.load(path, focus), stale: false };
    this.opening.set(path, entry);
    return entry.promise;
  }

  private async load(path: string, focus: boolean): Promise<FileEditor | undefined> {
    try {
      const opened = await this.peer.open(path);
      const editor = new FileEditor(path, opened.text, opened.editable, this);
      this.editors.set(path, editor);
      this.order.push(path);
      this.editorArea.append(editor.dom);
      if (this.opening.get(path)?.stale) void editor.resync(); // changed while it loaded
      this.onPeople();
      this.activate(path, focus);
      if (this.returned.delete(path)) this.notices.dismiss(`deleted:${path}`);
      // (In a read-only session every file opens read-only; the badge already says why.)
      if (!opened.editable && !this.status.readOnly) this.notices.show(`${path} is binary, starts with a byte order mark, or is too large to edit here: it opened read-only.`, 'info', 'not-editable');
      return editor;
    } catch (e) {
      this.notices.error(`Could not open ${path}: ${messageOf(e)}`);
      return undefined;
    } finally {
      this.opening.delete(path);
    }
  }

  /** Make `path`'s tab the active one. */
  private activate(path: string, focus: boolean): void {
    const editor = this.editors.get(path);
    if (!editor) return;
    this.active = path;
    for (const e of this.editors.values()) e.setVisible(e === editor);
    editor.scheduleSelection(); // presence: this is the file I look at now
    if (focus) editor.focus();
    this.updateView();
  }

  private closeFile(path: string): void {
    const editor = this.editors.get(path);
    if (!editor) return;
    const index = this.order.indexOf(path);
    editor.destroy();
    this.editors.delete(path);
    this.order = this.order.filter((p) => p !== path);
    try {
      this.peer.close(path);
    } catch {
      // Already closed on the peer's side (the file is gone): nothing left to do.
    }
    if (this.active === path) {
      this.active = undefined;
      const next = this.order[Math.min(index, this.order.length - 1)];
      if (next) this.activate(next, true);
    }
    this.updateView();
  }

  /** Redraw tabs, tree highlight, empty state and the status bar's cursor part. */
  private updateView(): void {
    this.tabs.set(this.order, this.active);
    this.tree.setActive(this.active);
    this.emptyState.hidden = this.active !== undefined;
    const editor = this.active ? this.editors.get(this.active) : undefined;
    this.statusBar.setCursor(editor?.cursorPosition(), editor?.language ?? '');
    document.title = this.active ? `${baseName(this.active)} · Chorus` : 'Chorus';
    rememberTabs({ paths: [...this.order, ...this.toRestore.paths.filter((p) => !this.order.includes(p))], ...(this.active ? { active: this.active } : {}) });
  }

  private fileMenu(item: FileItem, x: number, y: number): void {
    this.userAction();
    // A read-only session offers only what it allows: opening (the peer refuses the rest).
    const items: MenuItem[] = this.status.readOnly
      ? item.kind === 'dir' ? [] : [{ label: 'Open', run: () => void this.open(item.path), testId: 'menu-open' }]
      : item.kind === 'dir'
        ? [{ label: 'New file here…', run: () => void this.createFile(item.path), testId: 'menu-new-file' }]
        : [
            { label: 'Open', run: () => void this.open(item.path), testId: 'menu-open' },
            { label: 'Rename…', run: () => void this.renameFile(item), testId: 'menu-rename' },
            { label: 'New file beside…', run: () => void this.createFile(dirName(item.path)), testId: 'menu-new-file' },
            { label: 'Delete…', run: () => void this.removeFile(item), danger: true, testId: 'menu-delete' },
          ];
    if (items.length) showMenu(this.root, x, y, items);
  }

  private async createFile(folder: string): Promise<void> {
    closeMenu();
    if (this.status.readOnly) return this.refused('This session is read-only: your join code lets you watch, not create files.');
    const prefix = folder ? `${folder}/` : '';
    let created: string | undefined;
    await askText(this.root, {
      title: 'New file',
      description: 'The file appears for everyone in the session, and on their disks.',
      label: 'Path in the project',
      value: prefix,
      select: [prefix.length, prefix.length],
      confirm: 'Create',
      testId: 'create-dialog',
      validate: validatePath,
      submit: async (path) => {
        await this.peer.create(path);
        created = path;
      },
    });
    if (created) await this.open(created);
  }

  private async renameFile(item: FileItem): Promise<void> {
    closeMenu();
    if (this.status.readOnly) return this.refused('This session is read-only: your join code lets you watch, not rename files.');
    if (item.kind === 'dir') return;
    const name = baseName(item.path);
    const start = item.path.length - name.length;
    const dot = name.lastIndexOf('.');
    await askText(this.root, {
      title: `Rename ${name}`,
      label: 'New path in the project',
      value: item.path,
      select: [start, dot > 0 ? start + dot : item.path.length],
      confirm: 'Rename',
      testId: 'rename-dialog',
      validate: (to) => validatePath(to) ?? (to === item.path ? 'That is its name already.' : undefined),
      submit: async (to) => {
        await this.ownMove(item.path, to, () => this.peer.rename(item.path, to));
      },
    });
  }

  private async removeFile(item: FileItem): Promise<void> {
    closeMenu();
    if (this.status.readOnly) return this.refused('This session is read-only: your join code lets you watch, not delete files.');
    if (item.kind === 'dir') return;
    await confirmAction(this.root, {
      title: `Delete ${baseName(item.path)}?`,
      description: `${item.path} is deleted for everyone in the session and from their disks.`,
      confirm: 'Delete',
      danger: true,
      testId: 'delete-dialog',
      run: async () => {
        await this.ownMove(item.path, undefined, () => this.peer.remove(item.path));
      },
    });
  }

  /** Run this page's own rename or deletion; its tab follows whether or not the peer reports it. */
  private async ownMove(from: string, to: string | undefined, run: () => Promise<void>): Promise<void> {
    const key = `${from}\0${to ?? ''}`;
    this.ownMoves.add(key);
    try {
      await run();
      this.onMoved(from, to, true);
    } finally {
      // The peer may report it a little later; after that, the same move by someone else gets its notice.
      setTimeout(() => this.ownMoves.delete(key), 2000);
    }
  }

  // ---- Peer events ----------------------------------------------------------------------------

  private onStatus(status: PeerStatus): void {
    const readOnlyChanged = status.readOnly !== this.status.readOnly;
    const was = this.status.state;
    if (status.state === 'offline' && was !== 'offline') {
      this.notices.show(status.message ?? 'Offline. Your edits are kept in this browser and sent when a peer is back.', 'info', 'connection', 8000);
    } else if (status.state === 'online' && was === 'offline') {
      this.notices.show('Back online.', 'info', 'connection', 3000);
    }
    this.status = status;
    this.statusBar.setStatus(status);
    this.root.classList.toggle('read-only', status.readOnly);
    this.tree.setReadOnly(status.readOnly);
    const badge = this.root.querySelector<HTMLElement>('[data-testid="read-only-badge"]');
    if (badge) badge.hidden = !status.readOnly;
    if (readOnlyChanged) this.editors.forEach((e) => e.reconfigure());
    // A read-only guest is not invited to type (a trial: the page said "start editing" beside its badge).
    const text = EMPTY_TEXT[status.readOnly ? 'readOnly' : 'editable'];
    const title = this.emptyState.querySelector<HTMLElement>('.empty-title')!;
    if (title.textContent !== text.title) {
      replaceChildren(title, text.title);
      replaceChildren(this.emptyState.querySelector<HTMLElement>('.empty-hint')!, text.hint);
    }
    if (status.state === 'refused') {
      replaceChildren(this.banner, status.message ?? 'Could not join this session: the link may be mistyped or expired. Ask for a new link.');
      this.banner.hidden = false;
    } else {
      this.banner.hidden = true;
      this.askNameOnce();
    }
  }

  private onFiles(): void {
    const files = this.peer.files();
    this.tree.setFiles(files);
    this.restoreTabs(files);
    this.backAfterDeletion(files);
  }

  /**
   * A file deleted while open here is in the index again (someone's edits kept it, decision 207,
   * or someone restored it): its "was deleted … Restore it" notice would be stale, and restoring
   * would fail ("already exists"), so the notice says it is in the project again and offers to
   * open it (trial s58a F6). Why it is back is the daemon's to say (its own notice, when edits
   * kept it). That notice goes once the file is open here, or gone again (trial s58b F4).
   */
  private backAfterDeletion(files: FileItem[]): void {
    if (this.deletedWhileOpen.size === 0 && this.returned.size === 0) return;
    const present = new Set(files.filter((f) => f.kind === 'file').map((f) => f.path));
    for (const path of this.returned) {
      if (present.has(path)) continue;
      this.returned.delete(path);
      this.notices.dismiss(`deleted:${path}`);
    }
    for (const path of this.deletedWhileOpen) {
      if (!present.has(path)) continue;
      this.deletedWhileOpen.delete(path);
      this.returned.add(path);
      this.notices.show(`${path} is in the project again.`, 'info', `deleted:${path}`, 0, [
        { label: 'Open it', run: () => void this.open(path), testId: 'open-returned-file' },
      ]);
    }
  }

  /** Reopen the tabs of before a reload whose files are in the index (the index may arrive late). */
  private restoreTabs(files: FileItem[]): void {
    const { paths, active } = this.toRestore;
    if (paths.length === 0) return;
    const known = new Set(files.filter((f) => f.kind === 'file').map((f) => f.path));
    const now = paths.filter((p) => known.has(p));
    if (now.length === 0) return;
    this.toRestore = { paths: paths.filter((p) => !known.has(p)), ...(active && !known.has(active) ? { active } : {}) };
    void (async () => {
      for (const path of now) await this.open(path, false);
      if (active && known.has(active) && this.editors.has(active)) this.activate(active, false);
    })();
  }

  private onText(path: string, changes: TextChange[], origin: ChangeOrigin): void {
    const editor = this.editors.get(path);
    if (editor) editor.applyRemote(changes, origin);
    else {
      const pending = this.opening.get(path);
      if (pending) pending.stale = true;
    }
  }

  private onPeople(): void {
    this.people = this.peer.people();
    const self = this.people.find((p) => p.self);
    if (self) this.showName(self.name);
    this.tree.setPeople(this.people);
    this.tabs.setPeople(this.people);
    for (const editor of this.editors.values()) {
      const here = this.people
        .filter((p) => !p.self && p.file === editor.path && p.selections && p.selections.length > 0)
        .map((p) => ({ id: p.id, name: p.name, color: safeColor(p.color), selections: p.selections ?? [] }));
      const key = JSON.stringify(here);
      if (this.shownSelections.get(editor) === key) continue;
      this.shownSelections.set(editor, key);
      editor.setRemoteSelections(here);
    }
    this.applyFollow();
    this.peopleList.set(this.people, this.following);
  }

  /** A file was renamed or deleted (by anyone; `own` when this page just did it). */
  private onMoved(from: string, to: string | undefined, own: boolean): void {
    const editor = this.editors.get(from);
    if (!editor) return;
    if (to === undefined) {
      const text = editor.view.state.doc.toString();
      this.closeFile(from);
      if (!own) {
        // Someone else deleted what this person has open: offer their copy back rather than lose it.
        this.deletedWhileOpen.add(from);
        const restore = (): void => {
          this.deletedWhileOpen.delete(from);
          void this.peer.create(from, text).then(
            () => void this.open(from),
            (e: unknown) => this.notices.error(`Could not restore ${from}: ${messageOf(e)}`),
          );
        };
        this.notices.show(`${from} was deleted by someone in the session; its tab was closed.`, 'info', `deleted:${from}`, 0, [
          { label: 'Restore it', run: restore, testId: 'restore-file' },
        ]);
      }
      return;
    }
    if (this.editors.has(to)) {
      this.closeFile(from); // already open under its new name (reported twice)
      return;
    }
    this.editors.delete(from);
    this.editors.set(to, editor);
    this.order = this.order.map((p) => (p === from ? to : p));
    if (this.active === from) this.active = to;
    editor.rename(to);
    this.shownSelections.delete(editor);
    this.onPeople();
    this.updateView();
    if (!own) this.notices.show(`${from} was renamed to ${to}.`);
  }

  // ---- Follow ---------------------------------------------------------------------------------

  private follow(id: string | undefined): void {
    this.following = id;
    const person = this.people.find((p) => p.id === id);
    if (person) {
      replaceChildren(
        this.followBar,
        h('span', {}, 'Following ', h('strong', {}, person.name), ' — your next click or key stops it.'),
        h('button', { type: 'button', class: 'link-button', onclick: () => this.follow(undefined) }, 'Stop'),
      );
      this.followBar.style.setProperty('--chorus-color', safeColor(person.color));
      this.main.style.setProperty('--chorus-follow-color', safeColor(person.color));
    }
    this.followBar.hidden = !person;
    this.main.classList.toggle('following', !!person);
    this.applyFollow();
    this.peopleList.set(this.people, this.following);
  }

  /** Keep the followed person's file open and their cursor in view. */
  private applyFollow(): void {
    if (!this.following) return;
    const person = this.people.find((p) => p.id === this.following);
    if (!person) {
      this.notices.show('The person you followed left the session.');
      this.follow(undefined);
      return;
    }
    if (!person.file) return;
    const reveal = (editor: FileEditor | undefined): void => {
      const head = person.selections?.[0]?.head;
      if (editor && head !== undefined && this.following === person.id) editor.reveal(head);
    };
    if (person.file !== this.active) {
      void this.open(person.file, false).then((editor) => {
        if (editor) reveal(editor);
        else if (this.following === person.id) this.follow(undefined); // their file cannot open here: stop, the error says why
      });
    } else reveal(this.editors.get(person.file));
  }

  // ---- Name -----------------------------------------------------------------------------------

  /**
   * Give the peer this person's name, asking for it the first time. Not while the link is refused:
   * a person with a wrong link is told that first, and asked for a name once a session lets them in.
   */
  private askNameOnce(): void {
    if (this.nameAsked || this.status.state === 'refused') return;
    this.nameAsked = true;
    void ensureName(this.root, this.peer).then((name) => this.showName(name));
  }

  private showName(name: string): void {
    replaceChildren(this.nameButton, h('span', { class: 'name-label' }, name || 'Set your name'));
  }

  private async changeName(): Promise<void> {
    const current = this.people.find((p) => p.self)?.name ?? rememberedName() ?? '';
    const name = await changeName(this.root, this.peer, current);
    if (name) this.showName(name);
  }
}

/**
 * A problem with a path typed for a new or renamed file, or undefined: the project's one path
 * rule (path-rules.ts), checked before asking the peer, which checks again.
 */
function validatePath(path: string): string | undefined {
  if (!path) return 'Type a path, such as src/notes.md.';
  if (path.endsWith('/')) return 'Add a file name after the last slash.';
  const problem = pathProblem(path);
  return problem ? `That path cannot be used: ${problem}.` : undefined;
}
