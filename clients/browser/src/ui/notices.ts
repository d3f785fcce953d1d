/**
 * Short messages for the person ("src/a.ts was deleted by someone; its tab was closed"), shown in
 * a corner and read out by screen readers (an ARIA live region). Errors stay until dismissed;
 * other notices fade after a few seconds.
 */
import { h } from './dom.js';

export type NoticeKind = 'info' | 'error';

/** A button on a notice ("Restore it"); the notice closes when it is pressed. */
export interface NoticeAction {
  label: string;
  run: () => void;
  testId?: string;
}

/** The notice area of the page. */
export class Notices {
  readonly dom: HTMLElement;
  /** The last message per key, so a repeated notice (typing while read-only) is shown once. */
  private readonly byKey = new Map<string, HTMLElement>();

  constructor() {
    this.dom = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite', 'data-testid': 'notices' });
  }

  /**
   * Show `text`. A notice with the same `key` (by default, the same text) replaces the previous one.
   * `ms`: how long it stays (errors stay until closed unless given).
   */
  show(text: string, kind: NoticeKind = 'info', key: string = text, ms?: number, actions: NoticeAction[] = []): void {
    this.byKey.get(key)?.remove(); // the same message again replaces itself instead of stacking
    const close = (): void => {
      item.classList.add('leaving');
      setTimeout(() => item.remove(), 200);
      if (this.byKey.get(key) === item) this.byKey.delete(key);
    };
    const item = h(
      'div',
      { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : undefined },
      h('span', { class: 'notice-text' }, text),
      ...actions.map((a) =>
        h(
          'button',
          {
            class: 'notice-action',
            type: 'button',
            'data-testid': a.testId,
            onclick: () => {
              close();
              a.run();
            },
          },
          a.label,
        ),
      ),
      h('button', { class: 'notice-close', type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss', onclick: close }, '×'),
    );
    this.byKey.set(key, item);
    this.dom.append(item);
    const stay = ms ?? (kind === 'error' || actions.length > 0 ? 0 : 5000);
    if (stay > 0) setTimeout(close, stay);
  }

  /** Take away the notice shown under `key`, if it is still there (it went stale). */
  dismiss(key: string): void {
    const item = this.byKey.get(key);
    if (!item) return;
    this.byKey.delete(key);
    item.remove();
  }

  /** Show a thrown error's readable message. */
  error(text: string, key?: string): void {
    this.show(text, 'error', key);
  }
}
