/**
 * How a session is named to a person (SessionStatus `session`), by every place that shows it:
 * `chorus status`, `chorus join`, the LSP's `chorus.status`, and the Neovim, Emacs and VS Code
 * status displays. One wording for each thing a member should know of it, so that every place
 * says the same; the Lua and Elisp clients get these words from the generated tables
 * (`session_words` in protocol.lua, `chorus-protocol-session-words`) and pick them by the same
 * rule as {@link sessionClauses}.
 */

export const SessionWords = {
  /** This member shared the session (role `host`), and it runs. */
  sharing: 'sharing',
  /** This member joined the session (role `guest`), and it runs. */
  joined: 'joined',
  /** `starting: 'joining'`: a join asked for waits. */
  joining: 'joining: the join waits for the daemon to finish reading the folder',
  /** `starting: 'rejoining'`: a daemon just started, before it rejoins its saved session (never "not shared"). */
  rejoining: 'reconnecting: the daemon has just started and rejoins the session once it has read the folder',
  /** `readOnly`: what a read-only member can do, and what happens to what it changes. */
  readOnly: "read-only: you can see the files and follow others, not edit (changes you make stay on this machine; ask whoever shared the session for a code that can edit)",
  /** `disk: false`: view mode (`chorus join --no-disk`). */
  viewMode: 'view mode: nothing is written to this folder; files live in your editors only',
  /**
   * A join's progress (SessionProgress) in phase `syncing` before the session's list of files has
   * arrived, when there is nothing to count yet (it said "syncing: 0/0 files" for seconds).
   */
  syncingFileList: 'syncing: receiving the list of files',
  /** After a person's name: peer/didJoin with `reason` `joined` (or none). */
  peerJoined: 'joined the session',
  /**
   * After a person's name: peer/didJoin with `reason` `back`. Every member that came back after
   * a relay's outage, and every member after this daemon restarted, was told as "joined the
   * session" (a trial, 7 of 7), though nobody had joined.
   */
  peerBack: 'is connected again',
  /** After a person's name: peer/didLeave with `reason` `left` (or none). */
  peerLeft: 'left the session',
  /**
   * After a person's name: peer/didLeave with `reason` `unreachable`. A relay's outage told as
   * "left the session" for each member behind it, though nobody left (a trial).
   */
  peerUnreachable: 'is out of reach: nothing heard from them for 10 s (a connection, or a relay between you, dropped); they are back by themselves once reachable',
  /**
   * After "the daemon for ROOT has not answered your typing for N s (M edits waiting)": an edit
   * unanswered for SLOW_ANSWER_MS (answer-watch.ts). A daemon stopped with `kill -STOP` (a
   * suspended terminal) keeps the connection open and answers nothing; editors said nothing
   * while the person typed on (trial s55a F6).
   */
  daemonNotAnswering: 'it is stopped (suspended) or very busy. Nothing is lost: your edits are sent as soon as it answers; `chorus status` in a terminal says more',
  /** After "the daemon for ROOT": every edit answered after `daemonNotAnswering` was said. */
  daemonAnswersAgain: 'answers again; what you typed meanwhile is shared',
} as const;

/** How an edit the daemon of `root` has not answered is said (`daemonNotAnswering`). */
export function notAnsweringWords(root: string, seconds: number, waiting: number): string {
  return `the daemon for ${root} has not answered your typing for ${seconds} s (${waiting} ${waiting === 1 ? 'edit' : 'edits'} waiting): ${SessionWords.daemonNotAnswering}`;
}

/** How the daemon of `root` answering again is said (`daemonAnswersAgain`). */
export function answersAgainWords(root: string): string {
  return `the daemon for ${root} ${SessionWords.daemonAnswersAgain}`;
}

/**
 * How a file the project ignores is said when an editor opens it (`buffer/open`'s `notShared`,
 * and the LSP server, which checks the ignore rules itself): `why` is the rule, as
 * IgnoreRules.why gives it.
 */
export function ignoredWords(path: string, why: string): string {
  return `${path} is ignored (${why}), so it stays on this machine: edit and save it as a local file; nobody else sees it`;
}

/** How a peer/didLeave is said: `Bob left the session`, or that Bob is out of reach. */
export function peerGoneWords(name: string, reason: 'left' | 'unreachable' | undefined): string {
  return `${name} ${reason === 'unreachable' ? SessionWords.peerUnreachable : SessionWords.peerLeft}`;
}

/** How a peer/didJoin is said: `Bob joined the session`, or that Bob is connected again. */
export function peerCameWords(name: string, reason: 'joined' | 'back' | undefined): string {
  return `${name} ${reason === 'back' ? SessionWords.peerBack : SessionWords.peerJoined}`;
}

/** The fields of a join's progress (SessionProgress) that its words depend on. */
export interface ProgressFacts {
  phase: 'connecting' | 'syncing' | 'writing' | 'done';
  files: number;
  filesTotal: number;
  /** Bytes so far and in all; given, the line names them in MB as well. */
  bytes?: number;
  bytesTotal?: number;
}

/** A join's progress in one line, e.g. `writing: 3/10 files, 0.1/1.2 MB`. */
export function progressWords(p: ProgressFacts): string {
  if (p.phase === 'connecting') return 'connecting to the session…';
  if (p.phase === 'syncing' && p.filesTotal === 0) return `${SessionWords.syncingFileList}…`;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const bytes = p.bytes !== undefined && p.bytesTotal !== undefined ? `, ${mb(p.bytes)}/${mb(p.bytesTotal)} MB` : '';
  return `${p.phase}: ${p.files}/${p.filesTotal} files${bytes}`;
}

/** The fields of SessionStatus `session` that its words depend on. */
export interface SessionFacts {
  role: 'host' | 'guest';
  readOnly: boolean;
  disk?: boolean | undefined;
  starting?: 'joining' | 'rejoining' | undefined;
}

/** The session's state in one word: what it is doing now (`reconnecting` while a just-started daemon rejoins it). */
export function sessionState(s: SessionFacts): 'sharing' | 'joined' | 'joining' | 'reconnecting' {
  if (s.starting === 'joining') return 'joining';
  if (s.starting === 'rejoining') return 'reconnecting';
  return s.role === 'host' ? 'sharing' : 'joined';
}

/** The session's state in clauses: what it is doing, then anything that limits what the person can do. */
export function sessionClauses(s: SessionFacts): string[] {
  const out: string[] = [s.starting ? SessionWords[s.starting] : s.role === 'host' ? SessionWords.sharing : SessionWords.joined];
  if (s.readOnly) out.push(SessionWords.readOnly);
  if (s.disk === false) out.push(SessionWords.viewMode);
  return out;
}
