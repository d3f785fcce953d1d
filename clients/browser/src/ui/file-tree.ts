/**
 * The project's file tree, built from the peer's flat index (`files()`): folders first, then files,
 * in natural order; folders collapse. Small projects open with every folder expanded, large ones
 * collapsed (a 1,000-file tree is a list nobody reads). A filter box narrows it to matching paths.
 * Who looks at which file shows as coloured dots on its row.
 *
 * Test hooks: each file row is `data-testid="file:<path>"`, each folder row `dir:<path>`.
 */
import type { FileItem, Person } from '../peer-api.js';
import { h, replaceChildren, safeColor, shownName } from './dom.js';

/** Projects up to this many files open with all folders expanded. */
const EXPAND_ALL_UP_TO = 200;

/** What the tree asks of the page. */
export interface FileTreeHost {
  open(path: string): void;
  /** Open the file actions menu for `item` at a point on screen (context menu, or the row's ⋯ button). */
  menu(item: FileItem, x: number, y: number): void;
  create(folder: string): void;
  rename(item: FileItem): void;
  remove(item: FileItem): void;
  /** The person clicked or typed in the tree: stops following. */
  userAction(): void;
}

interface TreeNode {
  name: string;
  path: string;
  kind: 'file' | 'dir';
  editable: boolean;
  children: Map<string, TreeNode>;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The tree built from the flat index; folders are implied by file paths as well as listed. */
function buildTree(files: FileItem[]): TreeNode {
  const root: TreeNode = { name: '', path: '', kind: 'dir', editable: true, children: new Map() };
  for (const item of files) {
    const parts = item.path.split('/').filter(Boolean);
    let node = root;
    parts.forEach((name, i) => {
      const path = parts.slice(0, i + 1).join('/');
      const last = i === parts.length - 1;
      let child = node.children.get(name);
      // `editable` says something about files only (a folder is listed with false by some peers).
      const editable = !last || item.kind === 'dir' || item.editable;
      if (!child) {
        child = { name, path, kind: last ? item.kind : 'dir', editable, children: new Map() };
        node.children.set(name, child);
      } else if (last) {
        child.kind = item.kind === 'dir' || child.children.size > 0 ? 'dir' : 'file';
        child.editable = child.kind === 'dir' || editable;
      }
      node = child;
    });
  }
  return root;
}

function sorted(node: TreeNode): TreeNode[] {
  return [...node.children.values()].sort((a, b) => (a.kind !== b.kind ? (a.kind === 'dir' ? -1 : 1) : collator.compare(a.name, b.name)));
}

/** The file tree panel. */
export class FileTree {
  readonly dom: HTMLElement;
  private readonly list: HTMLElement;
  private readonly filterInput: HTMLInputElement;
  private files: FileItem[] = [];
  private expandAll: boolean | undefined;
  /** Folders whose state differs from the default (expanded in a large project, collapsed in a small one). */
  private readonly toggled = new Set<string>();
  private readonly rows = new Map<string, HTMLElement>();
  private active: string | undefined;
  private presence = new Map<string, Person[]>();

  private readonly newFileButton: HTMLElement;

  constructor(private readonly host: FileTreeHost) {
    this.newFileButton = h('button', { class: 'icon-button', type: 'button', title: 'New file', 'aria-label': 'New file', 'data-testid': 'new-file', onclick: () => this.host.create('') }, '+');
    this.filterInput = h('input', {
      type: 'search',
      class: 'tree-filter',
      placeholder: 'Filter files  (Ctrl+P)',
      'aria-label': 'Filter files',
      spellcheck: 'false',
      'data-testid': 'file-filter',
      oninput: () => this.render(),
      onkeydown: (e: KeyboardEvent) => this.filterKeydown(e),
    });
    this.list = h('div', { class: 'tree', role: 'tree', 'aria-label': 'Files', onkeydown: (e: KeyboardEvent) => this.keydown(e) });
    this.dom = h(
      'section',
      { class: 'panel files-panel', 'aria-label': 'Files' },
      h(
        'header',
        { class: 'panel-header' },
        h('h2', { class: 'panel-title' }, 'Files'),
        this.newFileButton,
      ),
      this.filterInput,
      this.list,
    );
    this.dom.addEventListener('pointerdown', () => this.host.userAction());
  }

  /** A read-only session offers no way to create files (the peer would refuse them anyway). */
  setReadOnly(readOnly: boolean): void {
    this.newFileButton.hidden = readOnly;
  }

  /** Show a new index. */
  setFiles(files: FileItem[]): void {
    this.files = files;
    this.expandAll ??= files.filter((f) => f.kind === 'file').length <= EXPAND_ALL_UP_TO;
    this.render();
  }

  /** Mark the active file and make sure its folders are open. */
  setActive(path: string | undefined): void {
    this.active = path;
    if (path) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) this.setExpanded(parts.slice(0, i).join('/'), true);
    }
    this.render();
  }

  /** Show who looks at which file. */
  setPeople(people: Person[]): void {
    const byFile = new Map<string, Person[]>();
    for (const p of people) {
      if (p.self || !p.file) continue;
      byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
    }
    this.presence = byFile;
    for (const [path, row] of this.rows) this.renderDots(row, path);
  }

  private isExpanded(path: string): boolean {
    return (this.expandAll ?? true) !== this.toggled.has(path);
  }

  private setExpanded(path: string, expanded: boolean): void {
    if (this.isExpanded(path) !== expanded) {
      if (this.toggled.has(path)) this.toggled.delete(path);
      else this.toggled.add(path);
    }
  }

  private render(): void {
    const filter = this.filterInput.value.trim().toLowerCase();
    const shown = filter ? this.files.filter((f) => f.path.toLowerCase().includes(filter)) : this.files;
    this.rows.clear();
    const root = buildTree(shown);
    if (root.children.size === 0) {
      replaceChildren(this.list, h('p', { class: 'tree-empty' }, filter ? 'No file matches.' : 'No files yet. Create one with +.'));
      return;
    }
    replaceChildren(this.list, this.renderLevel(root, 0, filter !== ''));
    // One row is always reachable with Tab: the active file's, else the first.
    if (!this.list.querySelector('.tree-row[tabindex="0"]')) this.list.querySelector('.tree-row')?.setAttribute('tabindex', '0');
  }

  /** Focus the filter box (Ctrl+P), selecting what it holds. */
  focusFilter(): void {
    this.filterInput.focus();
    this.filterInput.select();
  }

  /** Enter in the filter opens the first matching file; ArrowDown moves into the list. */
  private filterKeydown(event: KeyboardEvent): void {
    if (event.key === 'Enter') {
      const first = this.list.querySelector<HTMLElement>('.tree-file');
      if (first?.dataset.path) this.host.open(first.dataset.path);
    } else if (event.key === 'ArrowDown') {
      this.list.querySelector<HTMLElement>('.tree-row')?.focus();
    } else if (event.key === 'Escape' && this.filterInput.value) {
      this.filterInput.value = '';
      this.render();
    } else return;
    event.preventDefault();
  }

  private renderLevel(node: TreeNode, depth: number, forceOpen: boolean): HTMLElement {
    const ul = h('ul', { class: 'tree-level', role: depth === 0 ? 'none' : 'group' });
    for (const child of sorted(node)) {
      const expanded = forceOpen || this.isExpanded(child.path);
      const row = this.renderRow(child, depth, expanded);
      const li = h('li', { role: 'none' }, row);
      if (child.kind === 'dir' && expanded && child.children.size > 0) li.append(this.renderLevel(child, depth + 1, forceOpen));
      ul.append(li);
    }
    return ul;
  }

  private renderRow(node: TreeNode, depth: number, expanded: boolean): HTMLElement {
    const item: FileItem = { path: node.path, kind: node.kind, editable: node.editable };
    const isDir = node.kind === 'dir';
    const row = h(
      'div',
      {
        class: `tree-row ${isDir ? 'tree-dir' : 'tree-file'}${node.path === this.active ? ' active' : ''}${node.editable ? '' : ' not-editable'}`,
        role: 'treeitem',
        tabindex: node.path === this.active ? '0' : '-1',
        'aria-expanded': isDir ? String(expanded) : undefined,
        'aria-selected': node.path === this.active ? 'true' : undefined,
        'data-testid': `${isDir ? 'dir' : 'file'}:${node.path}`,
        'data-path': node.path,
        title: node.editable ? node.path : `${node.path} (binary, a byte order mark, or too large: read-only here)`,
        vars: { '--depth': String(depth) },
        onclick: () => (isDir ? this.toggle(node.path) : this.host.open(node.path)),
        oncontextmenu: (e: MouseEvent) => {
          e.preventDefault();
          this.host.menu(item, e.clientX, e.clientY);
        },
      },
      h('span', { class: `tree-icon ${isDir ? (expanded ? 'open' : 'closed') : fileIconClass(node.name)}`, 'aria-hidden': 'true' }),
      h('span', { class: 'tree-name' }, shownName(node.name)),
      h('span', { class: 'tree-dots' }),
      h('button', {
        class: 'tree-more',
        type: 'button',
        tabindex: '-1',
        title: 'More actions',
        'aria-label': `Actions for ${node.path}`,
        onclick: (e: MouseEvent) => {
          e.stopPropagation();
          const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
          this.host.menu(item, r.left, r.bottom);
        },
      }, '⋯'),
    );
    this.rows.set(node.path, row);
    this.renderDots(row, node.path);
    return row;
  }

  private renderDots(row: HTMLElement, path: string): void {
    const dots = row.querySelector('.tree-dots');
    if (!dots) return;
    const people = this.presence.get(path) ?? [];
    const key = people.map((p) => `${p.id}:${p.color}`).join(',');
    if ((dots as HTMLElement).dataset.key === key) return;
    (dots as HTMLElement).dataset.key = key;
    replaceChildren(dots, ...people.slice(0, 4).map((p) => h('span', { class: 'dot', title: p.name, vars: { '--chorus-color': safeColor(p.color) } })));
  }

  private toggle(path: string): void {
    this.setExpanded(path, !this.isExpanded(path));
    this.render();
    (this.list.querySelector(`[data-path="${CSS.escape(path)}"]`) as HTMLElement | null)?.focus();
  }

  /** Arrow keys move between rows, Enter opens, F2 renames, Delete deletes. */
  private keydown(event: KeyboardEvent): void {
    const rows = [...this.list.querySelectorAll<HTMLElement>('.tree-row')];
    const current = (event.target as HTMLElement).closest<HTMLElement>('.tree-row');
    if (!current) return;
    const i = rows.indexOf(current);
    const path = current.dataset.path ?? '';
    const item = this.files.find((f) => f.path === path) ?? { path, kind: current.classList.contains('tree-dir') ? 'dir' : 'file', editable: true };
    const isDir = item.kind === 'dir' || current.classList.contains('tree-dir');
    const focus = (row: HTMLElement | undefined): void => row?.focus();
    switch (event.key) {
      case 'ArrowDown':
        focus(rows[i + 1]);
        break;
      case 'ArrowUp':
        focus(rows[i - 1]);
        break;
      case 'ArrowRight':
        if (isDir && !this.isExpanded(path)) this.toggle(path);
        break;
      case 'ArrowLeft':
        if (isDir && this.isExpanded(path)) this.toggle(path);
        break;
      case 'Enter':
        if (isDir) this.toggle(path);
        else this.host.open(path);
        break;
      case 'F2':
        this.host.rename(item);
        break;
      case 'Delete':
        this.host.remove(item);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}

/** A class naming the file's kind, for its icon colour. */
function fileIconClass(name: string): string {
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  const kinds: Record<string, string> = {
    ts: 'code', tsx: 'code', js: 'code', jsx: 'code', mjs: 'code', cjs: 'code', py: 'code', rs: 'code', go: 'code', c: 'code', h: 'code',
    cc: 'code', cpp: 'code', java: 'code', rb: 'code', lua: 'code', el: 'code', sh: 'code', php: 'code', cs: 'code', kt: 'code', swift: 'code',
    md: 'doc', txt: 'doc', rst: 'doc', json: 'data', yaml: 'data', yml: 'data', toml: 'data', xml: 'data', csv: 'data', lock: 'data',
    html: 'markup', css: 'markup', scss: 'markup', svg: 'markup', vue: 'markup',
  };
  return `file-${kinds[ext] ?? 'plain'}`;
}
