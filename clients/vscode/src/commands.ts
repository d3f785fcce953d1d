/**
 * The command palette: Chorus: Share, Join, Status, Follow, Unfollow, Jump to Peer, Undo My Last
 * Edit, Redo My Last Edit, Reconnect. Each asks what it needs; a failure is shown in the
 * daemon's words or the extension's, never a library's (errors.ts, decision 189).
 */
import * as M from '@chorus/protocol';
import { Told, wordsFor } from './errors.js';
import type { ChorusClient } from './client.js';
import { CliNotFound, tellCliNotFound, type CliJoinResult } from './connection.js';
import type { Vscode } from './vscode-api.js';

export interface CommandHost {
  /**
   * The client for the workspace, connecting (and creating the project) if needed; undefined when
   * the workspace is not a project. `explicit` (a command that needs the daemon): rejects with
   * CliNotFound when the `chorus` command is missing, rather than resolving to undefined.
   */
  client(create: boolean, explicit?: boolean): Promise<ChorusClient | undefined>;
  /**
   * Join `code` into the workspace folder through `chorus join` when it is not a project yet, then
   * connect; undefined when it is one (join over its connection).
   */
  joinNewProject(code: string): Promise<{ result: CliJoinResult; client: ChorusClient | undefined } | undefined>;
  /**
   * Chorus: Reconnect: connect the workspace's client now, once (starting a daemon stopped with
   * `chorus stop`); undefined when the workspace is not a project; rejects with CliNotFound when
   * the `chorus` command (looked up anew) is missing.
   */
  reconnect(): Promise<ChorusClient | undefined>;
  /** The name the person knows the project by (its folder's), for messages. */
  projectName(): string;
  config<T>(key: string, fallback: T): T;
  log(message: string): void;
}

type Item = { label: string; description?: string; detail?: string; peerId?: string; action?: 'follow' | 'jump' | 'unfollow' | 'share' | 'join' | 'reconnect' };

/** Register every command; returns their disposables. */
export function registerCommands(vs: Vscode & { env: { clipboard: { writeText(t: string): Thenable<void> } } }, host: CommandHost): { dispose(): void }[] {
  /** Run a command; a failure is one error message, in words for the person (`doing`: what failed). */
  const guard = <A extends unknown[]>(doing: string, f: (...args: A) => Promise<unknown>) => async (...args: A) => {
    try {
      await f(...args);
    } catch (e) {
      if (e instanceof CliNotFound) tellCliNotFound(vs, e);
      else void vs.window.showErrorMessage(`Chorus: ${wordsFor(e, doing, host.projectName(), host.log)}`);
    }
  };
  const notProject = () => new Told('this workspace is not a shared project: run Chorus: Share, or Chorus: Join with a join code');
  const connected = async (create = false) => {
    const c = await host.client(create, true);
    if (!c) throw notProject();
    return c;
  };
  const pickPeer = async (c: ChorusClient, title: string) => {
    await c.refreshStatus();
    const items: Item[] = [...c.presence.peers.values()].map((p) => {
      const at = c.presence.cursors.get(p.id);
      return { label: p.name, description: at ? at.path : 'no file open', peerId: p.id };
    });
    if (items.length === 0) throw new Told('nobody else is in the session yet');
    return (await vs.window.showQuickPick(items, { title, placeHolder: 'Pick a person' }))?.peerId;
  };
  const undo = (redo: boolean) =>
    guard(redo ? 'redoing your last edit' : 'undoing your last edit', async () => {
      host.log(`${redo ? 'redo' : 'undo'} requested`);
      const editor = vs.window.activeTextEditor;
      const c = await host.client(false);
      if (!editor || !c || !c.sync.get(editor.document)) {
        // Not a shared file: the key binding only applies to shared ones, the palette may not.
        await vs.commands.executeCommand(redo ? 'redo' : 'undo');
        return;
      }
      // Own-edit undo is the daemon's: without it, say so (not "nothing to undo").
      c.requireRpc();
      const applied = await c.sync.undo(editor.document, redo);
      host.log(`${redo ? 'redo' : 'undo'}: ${applied ? 'applied' : 'nothing to do'}`);
      if (!applied) vs.window.setStatusBarMessage(`Chorus: nothing of yours to ${redo ? 'redo' : 'undo'} here`, 3000);
    });

  return [
    vs.commands.registerCommand(
      'chorus.share',
      guard('sharing this folder', async () => {
        const c = await connected(true);
        const host_ = host.config<string>('share.host', '');
        const { code, readOnly } = await c.requireRpc().sendRequest(M.SessionShare.type, host_ ? { host: host_ } : {});
        await c.refreshStatus();
        await vs.env.clipboard.writeText(code);
        const who = readOnly ? 'Guests with it can read but not edit' : 'Guests with it can edit';
        void vs.window.showInformationMessage(`Chorus: sharing ${c.root}. The join code is on your clipboard; others run Chorus: Join (or chorus join) with it. ${who}.`, { modal: false, detail: code });
      }),
    ),
    vs.commands.registerCommand(
      'chorus.join',
      guard('joining the session', async () => {
        const code = await vs.window.showInputBox({ title: 'Chorus: Join', prompt: 'The join code someone shared with you', placeHolder: 'chorus1.…', ignoreFocusOut: true });
        if (!code) return;
        const joined = (r: { files: number; waiting?: number; notices?: string[] }, root: string) => {
          const waiting = r.waiting ? ` ${r.waiting} not written yet: no connected peer has their content (each appears when one that has it connects).` : '';
          void vs.window.showInformationMessage(`Chorus: joined — ${r.files} file${r.files === 1 ? '' : 's'} in ${root}.${waiting}`);
          // Both versions of a file kept, and the like: each its own message, as the person must act on it.
          for (const n of r.notices ?? []) void vs.window.showWarningMessage(`Chorus: ${n}`);
        };
        const progress = <T>(task: () => Thenable<T>) => vs.window.withProgress({ location: 15 /* Notification */, title: 'Chorus: joining…' }, task);
        // A folder that is not a project yet joins as `chorus join` does: nothing is left behind
        // when the code is wrong or the join fails.
        const fresh = await progress(() => host.joinNewProject(code.trim()));
        if (fresh) {
          await fresh.client?.refreshStatus();
          joined(fresh.result, fresh.result.root);
          return;
        }
        const c = await connected(true);
        const r = await progress(() => c.requireRpc().sendRequest(M.SessionJoin.type, { code: code.trim() }));
        await c.refreshStatus();
        joined(r, c.root);
      }),
    ),
    vs.commands.registerCommand(
      'chorus.status',
      guard('showing who is here', async () => {
        const c = await host.client(false);
        if (!c) {
          const items: Item[] = [
            { label: '$(live-share) Share this folder', action: 'share' },
            { label: '$(sign-in) Join a session…', action: 'join' },
          ];
          const pick = await vs.window.showQuickPick(items, { title: 'Chorus: not in a shared project' });
          if (pick) await vs.commands.executeCommand(pick.action === 'share' ? 'chorus.share' : 'chorus.join');
          return;
        }
        await c.refreshStatus();
        const items: Item[] = [];
        if (!c.rpc) items.push({ label: '$(debug-disconnect) Offline: reconnect now', action: 'reconnect' });
        if (c.following) items.push({ label: `$(eye-closed) Stop following ${c.following.name}`, action: 'unfollow' });
        for (const p of c.presence.peers.values()) {
          const at = c.presence.cursors.get(p.id);
          items.push({ label: `$(eye) Follow ${p.name}`, description: at?.path ?? '', peerId: p.id, action: 'follow' });
          if (at) items.push({ label: `$(arrow-right) Jump to ${p.name}`, description: `${at.path}:${(at.selections[0]?.head.line ?? 0) + 1}`, peerId: p.id, action: 'jump' });
        }
        if (c.state === 'local') items.push({ label: '$(live-share) Share this project', action: 'share' });
        const pick = await vs.window.showQuickPick(items, { title: `Chorus: ${c.state}, ${c.presence.peers.size} peer(s)`, placeHolder: items.length ? 'Follow or jump to someone' : 'Nobody else is here yet' });
        if (!pick) return;
        if (pick.action === 'follow' && pick.peerId) await c.follow(pick.peerId);
        else if (pick.action === 'jump' && pick.peerId) await c.jumpTo(pick.peerId);
        else if (pick.action === 'unfollow') await c.unfollow();
        else if (pick.action === 'share') await vs.commands.executeCommand('chorus.share');
        else if (pick.action === 'reconnect') await vs.commands.executeCommand('chorus.reconnect');
      }),
    ),
    vs.commands.registerCommand(
      'chorus.follow',
      guard('starting to follow', async (peer?: unknown) => {
        const c = await connected();
        const id = typeof peer === 'string' ? peer : await pickPeer(c, 'Chorus: Follow');
        if (id) await c.follow(id);
      }),
    ),
    vs.commands.registerCommand(
      'chorus.unfollow',
      guard('stopping following', async () => (await connected()).unfollow()),
    ),
    vs.commands.registerCommand(
      'chorus.jumpToPeer',
      guard('jumping to someone', async (peer?: unknown) => {
        const c = await connected();
        const id = typeof peer === 'string' ? peer : await pickPeer(c, 'Chorus: Jump to Peer');
        if (id && !(await c.jumpTo(id))) throw new Told('that person has no file open');
      }),
    ),
    vs.commands.registerCommand('chorus.undo', undo(false)),
    vs.commands.registerCommand('chorus.redo', undo(true)),
    vs.commands.registerCommand(
      'chorus.reconnect',
      guard('reconnecting', async () => {
        if (!(await host.reconnect())) throw notProject();
      }),
    ),
  ];
}
