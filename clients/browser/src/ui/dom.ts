/**
 * A small element builder for the page's UI. Text always goes in as text nodes (never HTML), so a
 * file name or a person's name from a peer cannot inject markup; styles come from page.css through
 * classes, and the only inline values set from script are CSS custom properties (CSSOM, which a
 * strict Content-Security-Policy allows).
 */
import { visibleBidi } from '../../../../protocol/src/shown.js';

/** Attributes and handlers accepted by {@link h}. `class` is a space-separated list; `on*` are event listeners. */
export type Props = {
  class?: string;
  /** CSS custom properties (`--name`), set through CSSOM. */
  vars?: Record<string, string>;
  dataset?: Record<string, string>;
  [attr: string]: unknown;
};

/** A child: an element, text, or nothing (skipped). */
export type Child = Node | string | number | false | null | undefined;

/** Make an element `tag` with `props` (attributes, `on<event>` listeners, `vars`, `dataset`) and `children`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'vars') for (const [name, v] of Object.entries(value as Record<string, string>)) el.style.setProperty(name, v);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append `children` to `el`, skipping empty ones. */
export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace all children of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * A person's colour made safe for CSS: a peer sends it, so anything that is not a single valid
 * CSS colour falls back to grey instead of reaching a style declaration.
 */
export function safeColor(color: string | undefined): string {
  if (color && color.length <= 64 && !/[;{}()\\]|url/i.test(color.replace(/^(rgb|rgba|hsl|hsla|oklch|oklab|lab|lch|hwb)\([^()]*\)$/i, 'x'))) {
    if (typeof CSS === 'undefined' || CSS.supports('color', color)) return color;
  }
  return '#888888';
}

/** The last segment of a slash-separated path. */
export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/**
 * A file name as the page shows it: the characters that reorder text around them (Unicode
 * bidirectional controls) made visible as `<U+202E>`, so a name cannot display as another
 * (`invoice<U+202E>fdp.exe` read as `invoiceexe.pdf`). Spaces are kept by the CSS (`white-space: pre`).
 */
export function shownName(name: string): string {
  return visibleBidi(name);
}

/** The folder part of a path ('' at the top). */
export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The readable message of something thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return typeof error === 'string' && error ? error : 'Something went wrong; try again.';
}

/**
 * `fn` wrapped so that many calls within one frame run it once, at the next frame: a burst of
 * peer events (an index loading, cursors moving) redraws once. Hidden tabs get no frames, so
 * they redraw when shown.
 */
export function oncePerFrame(fn: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}
