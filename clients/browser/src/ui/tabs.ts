/**
 * The tab bar: one tab per open file, the active one marked, a close button each (middle click
 * closes too), coloured dots for the people in that file. Two open files with the same name show
 * their folder as well.
 *
 * Test hooks: `data-testid="tab:<path>"`, and `tab-close:<path>` on its close button.
 */
import type { Person } from '../peer-api.js';
import { baseName, dirName, h, replaceChildren, safeColor, shownName } from './dom.js';

/** What the tab bar asks of the page. */
export interface TabsHost {
  activate(path: string): void;
  close(path: string): void;
}

/** The tab bar. */
export class Tabs {
  readonly dom: HTMLElement;
  private paths: string[] = [];
  private active: string | undefined;
  private people: Person[] = [];

  constructor(private readonly host: TabsHost) {
    this.dom = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Open files' });
  }

  /** Show these open files, `active` selected. */
  set(paths: string[], active: string | undefined): void {
    this.paths = paths;
    this.active = active;
    this.render();
  }

  setPeople(people: Person[]): void {
    const key = (ps: Person[]): string => ps.map((p) => `${p.id}:${p.file ?? ''}:${p.color}`).join(',');
    if (key(people) === key(this.people)) return;
    this.people = people;
    this.render();
  }

  private render(): void {
    const names = new Map<string, number>();
    for (const p of this.paths) names.set(baseName(p), (names.get(baseName(p)) ?? 0) + 1);
    replaceChildren(
      this.dom,
      ...this.paths.map((path) => {
        const active = path === this.active;
        const here = this.people.filter((p) => !p.self && p.file === path);
        return h(
          'div',
          {
            class: `tab${active ? ' active' : ''}`,
            role: 'tab',
            tabindex: active ? '0' : '-1',
            'aria-selected': String(active),
            title: path,
            'data-testid': `tab:${path}`,
            onclick: () => this.host.activate(path),
            onauxclick: (e: MouseEvent) => {
              if (e.button === 1) this.host.close(path);
            },
            onkeydown: (e: KeyboardEvent) => {
              if (e.key === 'Enter' || e.key === ' ') this.host.activate(path);
            },
          },
          h('span', { class: 'tab-name' }, shownName(baseName(path))),
          (names.get(baseName(path)) ?? 0) > 1 ? h('span', { class: 'tab-dir' }, dirName(path) || '/') : null,
          here.length > 0 ? h('span', { class: 'tab-dots' }, ...here.slice(0, 3).map((p) => h('span', { class: 'dot', title: p.name, vars: { '--chorus-color': safeColor(p.color) } }))) : null,
          h(
            'button',
            {
              class: 'tab-close',
              type: 'button',
              title: 'Close',
              'aria-label': `Close ${path}`,
              'data-testid': `tab-close:${path}`,
              onclick: (e: MouseEvent) => {
                e.stopPropagation();
                this.host.close(path);
              },
            },
            '×',
          ),
        );
      }),
    );
    this.dom.querySelector('.tab.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}
