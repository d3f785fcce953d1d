/**
 * A small menu at a point on screen (right click on a file, or its ⋯ button): arrow keys move,
 * Enter picks, Escape or a click elsewhere closes. Position is set through CSSOM (allowed by a
 * strict Content-Security-Policy).
 */
import { h } from './dom.js';

/** One menu entry. */
export interface MenuItem {
  label: string;
  run: () => void;
  danger?: boolean;
  testId?: string;
}

let open: HTMLElement | undefined;

/** Close the open menu, if any. */
export function closeMenu(): void {
  open?.remove();
  open = undefined;
}

/** Show `items` at (x, y) in viewport pixels. */
export function showMenu(host: HTMLElement, x: number, y: number, items: MenuItem[]): void {
  closeMenu();
  const buttons = items.map((item) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        class: `menu-item${item.danger ? ' danger' : ''}`,
        'data-testid': item.testId,
        onclick: () => {
          closeMenu();
          item.run();
        },
      },
      item.label,
    ),
  );
  const menu = h('div', { class: 'menu', role: 'menu', 'data-testid': 'menu' }, ...buttons);
  menu.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape') closeMenu();
    else if (e.key === 'ArrowDown') buttons[(i + 1) % buttons.length]?.focus();
    else if (e.key === 'ArrowUp') buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
    else return;
    e.preventDefault();
  });
  host.append(menu);
  open = menu;
  // Keep the menu on screen.
  const r = menu.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(x, window.innerWidth - r.width - 4))}px`;
  menu.style.top = `${Math.max(4, Math.min(y, window.innerHeight - r.height - 4))}px`;
  buttons[0]?.focus();
  const away = (e: Event): void => {
    if (open === menu && e.target instanceof Node && menu.contains(e.target)) return;
    document.removeEventListener('pointerdown', away, true);
    window.removeEventListener('blur', away);
    if (open === menu) closeMenu();
  };
  document.addEventListener('pointerdown', away, true);
  window.addEventListener('blur', away);
}
