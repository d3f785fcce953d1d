/**
 * How a session is named to a person (`chorus status`, `chorus join`, the LSP's `chorus.status`):
 * one wording for each thing a member should know of it, so that every place says the same.
 */
import type * as P from '@chorus/protocol';

/** A read-only member: what it can do, and what happens to what it changes. */
export const READ_ONLY = "read-only: you can see the files and follow others, not edit (changes you make stay on this machine; ask whoever shared the session for a code that can edit)";

/** View mode (`chorus join --no-disk`). */
export const VIEW_MODE = 'view mode: nothing is written to this folder; files live in your editors only';

/** A session that is not started yet, by why (SessionStatus `starting`). */
const STARTING: Record<string, string> = {
  joining: 'joining: the join waits for the daemon to finish reading the folder',
  rejoining: 'reconnecting: the daemon has just started and rejoins the session once it has read the folder',
};

/** The session's state in clauses: role, then anything that limits what the person can do. */
export function sessionClauses(s: NonNullable<P.ResultOf<typeof P.SessionStatus>['session']>): string[] {
  const role = s.starting === 'joining' ? 'joining' : s.role === 'host' ? 'sharing' : 'joined';
  const out = [s.starting ? STARTING[s.starting] ?? role : role];
  if (s.readOnly) out.push(READ_ONLY);
  if (s.disk === false) out.push(VIEW_MODE);
  return out;
}
