/**
 * The rule for a person's name, the label others see beside their cursor and in `chorus status`
 * (decision 178). Declared once: presence caps what it takes from peers at NAME_MAX_LENGTH, and a
 * name this person chooses (`--name` on `chorus daemon`, `share` and `join`, the `name` of
 * session/share and session/join) must pass `nameProblem`. Platform-neutral: the browser page's
 * peer uses it too.
 */
import { hasControls } from '../log-line.js';

/** Longest name, in UTF-16 code units; a peer's longer name is refused by presence. */
export const NAME_MAX_LENGTH = 200;

/**
 * Why `name` cannot be this person's name, in words a person can act on; undefined when it can.
 * Refused: not a string, empty or only spaces, longer than NAME_MAX_LENGTH, or holding a control
 * character (C0, DEL, C1, line or paragraph separators) or a bidirectional control. A peer's name
 * with those is shown escaped (presence's displayName); one's own is refused outright, since it
 * would show as escapes everywhere instead of as typed.
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a name is text';
  if (name.trim() === '') return 'a name cannot be empty';
  if (name.length > NAME_MAX_LENGTH) return `a name is at most ${NAME_MAX_LENGTH} characters (this one has ${name.length})`;
  if (hasControls(name)) return 'a name cannot hold control characters (new lines, tabs, escapes) or bidirectional controls (they would garble or reverse the lines that show it)';
  return undefined;
}
