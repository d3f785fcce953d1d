/**
 * The people in the session: name, colour, editor, and the file they look at. Clicking someone
 * follows them (their file opens and their cursor stays in view); clicking again, or any own
 * action, stops. This person's own entry offers to change their name.
 *
 * Test hooks: `data-testid="person:<name>"`.
 */
import type { Person } from '../peer-api.js';
import { baseName, h, replaceChildren, safeColor } from './dom.js';

/** What the people list asks of the page. */
export interface PeopleListHost {
  /** Follow this person, or stop following (undefined). */
  follow(id: string | undefined): void;
  changeName(): void;
}

const EDITORS: Record<string, string> = { browser: 'Browser', neovim: 'Neovim', vscode: 'VS Code', emacs: 'Emacs' };

/** The people panel. */
export class PeopleList {
  readonly dom: HTMLElement;
  private readonly list: HTMLElement;
  private readonly count: HTMLElement;
  private people: Person[] = [];
  private following: string | undefined;
  private lastKey = '';

  constructor(private readonly host: PeopleListHost) {
    this.count = h('span', { class: 'panel-count' });
    this.list = h('ul', { class: 'people' });
    this.dom = h('section', { class: 'panel people-panel', 'aria-label': 'People' }, h('header', { class: 'panel-header' }, h('h2', { class: 'panel-title' }, 'People'), this.count), this.list);
  }

  set(people: Person[], following: string | undefined): void {
    const key = JSON.stringify([people.map((p) => [p.id, p.name, p.color, p.self, p.editor, p.file]), following]);
    if (key === this.lastKey) return; // cursor moves change nothing shown here
    this.lastKey = key;
    this.people = people;
    this.following = following;
    this.render();
  }

  private render(): void {
    const ordered = [...this.people].sort((a, b) => (a.self !== b.self ? (a.self ? -1 : 1) : a.name.localeCompare(b.name)));
    this.count.textContent = String(this.people.length);
    replaceChildren(
      this.list,
      ...ordered.map((p) => {
        const following = p.id === this.following;
        const editor = p.editor ? (EDITORS[p.editor] ?? p.editor) : '';
        const where = p.file ? baseName(p.file) : '';
        const detail = [editor, where].filter(Boolean).join(' · ');
        return h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: `person${p.self ? ' self' : ''}${following ? ' following' : ''}`,
              'data-testid': `person:${p.name}`,
              'aria-pressed': p.self ? undefined : String(following),
              title: p.self ? 'Change your name' : following ? `Stop following ${p.name}` : `Follow ${p.name}${p.file ? ` (in ${p.file})` : ''}`,
              vars: { '--chorus-color': safeColor(p.color) },
              onclick: () => (p.self ? this.host.changeName() : this.host.follow(following ? undefined : p.id)),
            },
            h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
            h(
              'span',
              { class: 'person-text' },
              h('span', { class: 'person-name' }, p.name, p.self ? h('span', { class: 'person-you' }, ' (you)') : null),
              detail ? h('span', { class: 'person-detail' }, detail) : null,
            ),
            following ? h('span', { class: 'person-badge' }, 'following') : p.self ? h('span', { class: 'person-edit', 'aria-hidden': 'true' }, '✎') : null,
          ),
        );
      }),
    );
  }
}

/** One or two letters for the avatar. */
function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? '?'];
  return letters.map((w) => [...(w ?? '?')][0]?.toUpperCase() ?? '?').join('');
}
