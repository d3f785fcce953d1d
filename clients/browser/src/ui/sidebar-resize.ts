/**
 * The handle between the sidebar and the editors: drag it (or use the arrow keys on it) to widen
 * or narrow the sidebar; the width is remembered in localStorage. The width is a CSS custom
 * property on the app root, set through CSSOM (allowed by a strict Content-Security-Policy).
 */
import { h } from './dom.js';

const KEY = 'chorus.sidebarWidth';
const MIN = 180;
const MAX = 560;

function clampWidth(px: number): number {
  return Math.round(Math.min(Math.max(px, MIN), Math.min(MAX, window.innerWidth * 0.6)));
}

/** Make the handle for `root` (which holds `--sidebar-width`), restoring the remembered width. */
export function sidebarHandle(root: HTMLElement): HTMLElement {
  const set = (px: number, remember: boolean): void => {
    const width = clampWidth(px);
    root.style.setProperty('--sidebar-width', `${width}px`);
    handle.setAttribute('aria-valuenow', String(width));
    if (remember) {
      try {
        localStorage.setItem(KEY, String(width));
      } catch {
        // Not remembered; the width still applies now.
      }
    }
  };
  const current = (): number => root.querySelector('.sidebar')?.getBoundingClientRect().width ?? 264;
  const handle = h('div', {
    class: 'sidebar-handle',
    role: 'separator',
    tabindex: '0',
    'aria-orientation': 'vertical',
    'aria-label': 'Resize the sidebar',
    'aria-valuemin': String(MIN),
    'aria-valuemax': String(MAX),
    onpointerdown: (e: PointerEvent) => {
      e.preventDefault();
      handle.setPointerCapture(e.pointerId);
      handle.classList.add('dragging');
      const move = (ev: PointerEvent): void => set(ev.clientX, false);
      const up = (ev: PointerEvent): void => {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', up);
        handle.classList.remove('dragging');
        set(ev.clientX, true);
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', up);
    },
    onkeydown: (e: KeyboardEvent) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      e.preventDefault();
      set(current() + (e.key === 'ArrowLeft' ? -16 : 16), true);
    },
    ondblclick: () => {
      root.style.removeProperty('--sidebar-width');
      try {
        localStorage.removeItem(KEY);
      } catch {
        // Nothing remembered to forget.
      }
    },
  });
  let saved: number | undefined;
  try {
    saved = Number(localStorage.getItem(KEY)) || undefined;
  } catch {
    saved = undefined;
  }
  if (saved) set(saved, false);
  return handle;
}
