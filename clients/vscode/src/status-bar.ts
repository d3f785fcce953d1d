/**
 * The status-bar item: session state and how many people are here; a click opens the peer list
 * (Chorus: Status).
 */
import * as M from '@chorus/protocol';
import type * as P from '@chorus/protocol';
import type { ChorusClient } from './client.js';
import type { Vscode, vscode } from './vscode-api.js';

/** The item's text and tooltip for a client state (pure, for the unit tests). */
export function statusText(
  client: (Pick<ChorusClient, 'state' | 'following'> & { session?: P.SessionFacts | undefined; presence: { peers: Map<string, unknown> } }) | undefined,
  notFollowing?: string,
): { text: string; tooltip: string } {
  const s = statusOfSession(client);
  // The active document's typing was refused (a read-only session): it keeps the person's text
  // and shows nothing of the others' until Chorus: Reconnect (decision 234). Said as long as it lasts.
  if (notFollowing === undefined) return s;
  return { text: `${s.text} · $(warning) not following`, tooltip: `${s.tooltip}\n${notFollowing} does not follow the session here: it keeps your text, and others' changes do not show in it. Chorus: Reconnect shows the session's text again (undo then brings yours back).` };
}

function statusOfSession(client: Parameters<typeof statusText>[0]): { text: string; tooltip: string } {
  if (!client) return { text: '$(live-share) Chorus', tooltip: 'Chorus: not in a shared project (Chorus: Share or Join)' };
  const n = client.presence.peers.size;
  const people = `${n} ${n === 1 ? 'peer' : 'peers'}`;
  const follow = client.following ? ` · following ${client.following.name}` : '';
  // The session in the words of `chorus status` (protocol/src/session-words.ts): what it is
  // doing, then what limits the person (read-only, view mode).
  const [words, ...limits] = client.session ? M.sessionClauses(client.session) : [];
  switch (client.state) {
    case 'connecting':
      return { text: '$(sync~spin) Chorus', tooltip: 'Chorus: connecting to the daemon' };
    case 'offline':
      return { text: '$(debug-disconnect) Chorus: offline', tooltip: 'Chorus: the daemon went away; reconnecting. Your edits are kept.' };
    case 'stopped':
      return { text: '$(debug-disconnect) Chorus: stopped', tooltip: 'Chorus: the daemon was stopped with `chorus stop`; Chorus: Reconnect starts it again. Your edits are kept.' };
    case 'local':
      return { text: '$(live-share) Chorus: not shared', tooltip: 'Chorus: connected, not shared yet (Chorus: Share)' };
    case 'joining':
    case 'reconnecting':
      return { text: `$(sync~spin) Chorus: ${client.state}`, tooltip: `Chorus: ${[words ?? client.state, ...limits].join('; ')}` };
    default:
      return { text: `$(live-share) Chorus: ${client.state} · ${people}${follow}`, tooltip: `Chorus: ${client.state === 'sharing' ? 'sharing this project' : 'joined a session'} with ${people}${limits.map((l) => `; ${l}`).join('')}. Click for the list.` };
  }
}

export class StatusBar {
  readonly item: vscode.StatusBarItem;
  constructor(vs: Vscode) {
    this.item = vs.window.createStatusBarItem('chorus.status', vs.StatusBarAlignment.Left, 100);
    this.item.name = 'Chorus';
    this.item.command = 'chorus.status';
    this.item.show();
  }

  /** `active`: the active editor's document, said not to follow when its buffer does not. */
  update(client: ChorusClient | undefined, active?: vscode.TextDocument): void {
    const path = client && active && client.sync.notFollowing(active) ? client.sync.pathOf(active) : undefined;
    const { text, tooltip } = statusText(client, path);
    this.item.text = text;
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
