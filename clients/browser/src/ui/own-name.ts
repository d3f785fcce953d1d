/**
 * This person's display name: asked once in a small dialog, remembered in localStorage (per
 * origin, so per serving peer), passed to the peer with `setName`, and changeable later.
 */
import type { PagePeer } from '../peer-api.js';
import { askText } from './dialog.js';

/** The localStorage key holding the name. */
export const NAME_KEY = 'chorus.name';
/** Longest name accepted, in UTF-16 code units: a name is a label beside a cursor. */
export const NAME_MAX = 40;

/** The remembered name, or undefined (never asked, or storage unavailable). */
export function rememberedName(): string | undefined {
  try {
    const name = localStorage.getItem(NAME_KEY)?.trim();
    return name ? name.slice(0, NAME_MAX) : undefined;
  } catch {
    return undefined; // storage disabled: the dialog asks each time, nothing breaks
  }
}

function remember(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage disabled or full: the name still applies for this visit.
  }
}

function validate(name: string): string | undefined {
  if (!name) return 'Type a name, so others know whose cursor this is.';
  if (name.length > NAME_MAX) return `Keep it under ${NAME_MAX} characters.`;
  return undefined;
}

/**
 * Give the peer the remembered name, or ask for one first (the dialog cannot be dismissed without
 * a name: everyone else sees it beside this person's cursor).
 */
export async function ensureName(host: HTMLElement, peer: PagePeer): Promise<string> {
  const known = rememberedName();
  if (known) {
    peer.setName(known);
    return known;
  }
  const name = await askText(host, {
    title: 'Join the session',
    description: 'Your name is shown to the others beside your cursor. This browser remembers it.',
    label: 'Your name',
    confirm: 'Join',
    testId: 'name-dialog',
    cancellable: false,
    validate,
    submit: (value) => {
      peer.setName(value);
      remember(value);
    },
  });
  return name ?? '';
}

/** Ask for a new name (prefilled); resolves with it, or undefined when cancelled. */
export function changeName(host: HTMLElement, peer: PagePeer, current: string): Promise<string | undefined> {
  return askText(host, {
    title: 'Change your name',
    label: 'Your name',
    value: current,
    confirm: 'Save',
    testId: 'name-dialog',
    validate,
    submit: (value) => {
      peer.setName(value);
      remember(value);
    },
  });
}
