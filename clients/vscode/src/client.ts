/**
 * One project's Chorus client: the daemon connection, buffer sync, presence and follow mode,
 * and the routing of every daemon notification to the module that handles it (this file is that
 * route, on one screen).
 */
import * as M from '@chorus/protocol';
import type * as P from '@chorus/protocol';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { BufferSync, type Moved } from './buffer-sync.js';
import { messageOf, request, Told } from './errors.js';
import { DaemonConnection, type CliCommand } from './connection.js';
import { CursorDecorations } from './decorations.js';
import { Presence } from './presence.js';
import { moveEditors } from './rename.js';
import type { Vscode, vscode } from './vscode-api.js';
import path from 'node:path';
import { fileOf } from './project.js';

/** What the status bar says: the connection's state, else the session's (`sessionState` of the protocol: `reconnecting` while a daemon that just started rejoins it). */
export type SessionState = 'connecting' | 'offline' | 'stopped' | 'local' | ReturnType<typeof M.sessionState>;

/** How often the session's state is asked again while it is starting (it says nothing when it has started). */
const STARTING_RECHECK_MS = 1000;

/**
 * How often, and how many times in a row, the peers are asked again while the daemon redials
 * one not counted here: a peer back within the daemon's grace (10 s, decision 182) is told by
 * nothing else. 8 × 2 s covers the grace and a tick of a loaded machine.
 */
const REDIAL_RECHECK_MS = 2000;
const REDIAL_RECHECKS = 8;

/** A peer joined or left: the daemon's list is asked again this long after the last such news. */
const PEERS_SETTLE_MS = 300;

export interface ClientOptions {
  cli: () => CliCommand;
  delays: () => number[];
  showNames: () => boolean;
  log: (m: string) => void;
  version: string;
  /** The folder is not a project yet and connecting makes it one (`chorus connect --create`: Share). */
  create?: boolean;
  /** Session state or peers changed (the status bar redraws). */
  onState: () => void;
}

export class ChorusClient {
  readonly sync: BufferSync;
  readonly presence = new Presence();
  readonly decorations: CursorDecorations;
  readonly daemon: DaemonConnection;
  state: SessionState = 'connecting';
  /** The session as the last session/status said it (for the status bar's words); undefined when not shared. */
  session: P.SessionFacts | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** Rechecks left while the daemon redials peers not counted (REDIAL_RECHECKS after each news). */
  private redialChecks = REDIAL_RECHECKS;
  private settle: NodeJS.Timeout | undefined;
  /** Whom we follow (peer info), if anyone. */
  following: P.PeerInfo | undefined;
  private cursorTimer: NodeJS.Timeout | undefined;
  /** Where our cursor was last reported (to say "left the file" when it moves elsewhere). */
  private lastCursorPath: string | undefined;
  /** A follow/reveal is being shown: the selection change it causes is not the person's. */
  private revealing = 0;

  constructor(
    private readonly vs: Vscode,
    readonly root: string,
    private readonly opts: ClientOptions,
  ) {
    this.sync = new BufferSync(vs, root, {
      warn: (m) => void vs.window.showWarningMessage(m),
      info: (m) => void vs.window.showInformationMessage(m),
      log: opts.log,
      onMoved: (m) => void this.moved(m),
      onFollowing: () => {
        this.decorations.render();
        opts.onState();
      },
      onEditSent: (answer) => this.answers.watch(answer),
    });
    // Others' cursors are where they are in the session's text: not drawn in a document that does
    // not follow it (decision 234), whose text differs.
    this.decorations = new CursorDecorations(vs, this.presence, (d) => (this.sync.notFollowing(d) ? undefined : this.sync.pathOf(d)), opts.showNames);
    this.presence.onChange(() => {
      this.decorations.render();
      opts.onState();
    });
    this.daemon = new DaemonConnection(root, opts.cli, opts.delays, { up: (c, i) => this.up(c, i), down: (why) => this.down(why), stopped: (why) => this.stopped(why), log: opts.log }, opts.version, opts.create === true);
  }

  get rpc(): MessageConnection | undefined {
    return this.daemon.connection;
  }

  /** Connect (and keep reconnecting). */
  start(): Promise<MessageConnection> {
    return this.daemon.connect();
  }

  private up(conn: MessageConnection, init: P.ResultOf<typeof M.Initialize>): void {
    conn.onNotification(M.BufferDidChange.type, (p) => this.sync.onRemoteChange(p));
    conn.onNotification(M.BufferDidRename.type, (p) => this.sync.renamed(p.from, p.to));
    conn.onNotification(M.CursorDidChange.type, (p) => this.presence.cursor(p));
    conn.onNotification(M.PeerDidJoin.type, (p) => this.peersChanged(() => this.presence.joined(p.peer)));
    conn.onNotification(M.PeerDidLeave.type, (p) => this.peersChanged(() => this.presence.left(p.peer)));
    conn.onNotification(M.FollowReveal.type, (p) => void this.reveal(p));
    conn.onNotification(M.FollowDidStop.type, (p) => this.followStopped(p.reason));
    conn.onNotification(M.SessionProgress.type, (p) => this.opts.log(M.progressWords(p)));
    conn.onNotification(M.SessionNotice.type, (p) => this.notice(p));
    this.opts.log(`connected to the daemon for ${init.root} as ${init.peer.name}`);
    // Connecting until session/status answers: the session and its peers are this daemon's to
    // say, and a count shown meanwhile would be the old connection's, or 0 (decision 189).
    this.state = 'connecting';
    this.presence.reset(init.peer, []);
    this.following = undefined;
    this.redialChecks = REDIAL_RECHECKS;
    void this.refreshStatus();
    this.sync.setConnection(conn);
    for (const doc of this.vs.workspace.textDocuments) this.sync.track(doc);
    this.sendCursor();
  }

  /** Edits the daemon has not answered: a stopped daemon is said, and its return (answer-watch.ts). */
  private readonly answers = new M.AnswerWatch({
    slow: (seconds, waiting) => void this.vs.window.showWarningMessage(`Chorus: ${M.notAnsweringWords(path.basename(this.root), seconds, waiting)}.`),
    again: () => void this.vs.window.showInformationMessage(`Chorus: ${M.answersAgainWords(path.basename(this.root))}.`),
  });

  private down(why: string): void {
    this.offline('offline');
    this.opts.log(`lost the daemon: ${why}`);
    void this.vs.window.showWarningMessage(`Chorus: lost the connection to the daemon for ${path.basename(this.root)}. Keep editing: nothing you type is lost, and Chorus reconnects on its own.`);
  }

  /** The daemon was stopped with `chorus stop`: Chorus does not start it again until asked (decision 174). */
  private stopped(why: string): void {
    this.offline('stopped');
    this.opts.log(why);
    void this.vs.window.showWarningMessage(`Chorus: the daemon for ${path.basename(this.root)} was stopped with \`chorus stop\`. Keep editing: nothing you type is lost. Run Chorus: Reconnect to start it and share again.`);
  }

  private offline(state: 'offline' | 'stopped'): void {
    this.state = state;
    this.answers.reset();
    clearTimeout(this.recheck);
    clearTimeout(this.settle);
    this.sync.setConnection(undefined);
    this.presence.reset(this.presence.self, []);
    this.following = undefined;
    this.opts.onState();
  }

  /** Ask the daemon for the session state and the peers. */
  async refreshStatus(): Promise<P.ResultOf<typeof M.SessionStatus> | undefined> {
    const rpc = this.rpc;
    if (!rpc) return undefined;
    try {
      const st = await request<P.ResultOf<typeof M.SessionStatus>>(rpc, M.SessionStatus.type, {});
      if (this.rpc !== rpc) return undefined; // an answer from a connection since replaced
      this.session = st.session ?? undefined;
      this.state = st.session ? M.sessionState(st.session) : 'local';
      const redialled = this.presence.sync(st.peer, st.peers);
      // A session that is starting (a daemon rejoining it, a join waiting) is asked about again
      // until it runs: nothing else tells the status bar that it has started. So is one whose
      // daemon redials peers not counted: one back within the daemon's grace is told by nothing.
      clearTimeout(this.recheck);
      const again = st.session?.starting ? STARTING_RECHECK_MS : redialled > 0 && this.redialChecks-- > 0 ? REDIAL_RECHECK_MS : undefined;
      if (again !== undefined) this.recheck = setTimeout(() => void (this.rpc === rpc && this.refreshStatus()), again);
      return st;
    } catch (e) {
      this.opts.log(`session/status: ${messageOf(e)}`);
      return undefined;
    }
  }

  /**
   * peer/didJoin or peer/didLeave: shown at once, then the daemon's list is asked again once the
   * news settles, so the count is the daemon's whatever order things happened in (decision 189).
   */
  private peersChanged(apply: () => void): void {
    apply();
    this.redialChecks = REDIAL_RECHECKS;
    const rpc = this.rpc;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void (this.rpc === rpc && this.refreshStatus()), PEERS_SETTLE_MS);
  }

  // ---- editor events ---------------------------------------------------------------------------

  onDidChangeText(e: vscode.TextDocumentChangeEvent): void {
    this.sync.onDidChange(e);
  }

  /** Selections or the visible range moved: tell the daemon (at most every 50 ms). */
  onCursorMoved(): void {
    if (this.revealing > 0) return;
    clearTimeout(this.cursorTimer);
    this.cursorTimer = setTimeout(() => this.sendCursor(), 50);
  }

  private sendCursor(): void {
    const rpc = this.rpc;
    if (!rpc) return;
    const editor = this.vs.window.activeTextEditor;
    const path = editor && this.sync.get(editor.document)?.status === 'open' ? this.sync.get(editor.document)!.path : undefined;
    // The cursor leaves a file still open here: others see it go. A file closed, renamed or
    // deleted since is not open in the daemon any more (it would refuse the cursor), and its
    // close took the cursor away already.
    const left = this.lastCursorPath;
    if (left && left !== path && this.sync.byPath(left)?.status === 'open') void rpc.sendNotification(M.CursorSet.type, { path: left, selections: [] });
    this.lastCursorPath = path;
    if (!editor || !path) return;
    const pos = (p: vscode.Position) => ({ line: p.line, character: p.character });
    void rpc.sendNotification(M.CursorSet.type, { path, selections: editor.selections.map((s) => ({ anchor: pos(s.anchor), head: pos(s.active) })) });
    const visible = editor.visibleRanges[0];
    if (visible) void rpc.sendNotification(M.ViewportSet.type, { path, range: { start: pos(visible.start), end: pos(visible.end) } });
  }

  /**
   * A shared file was renamed and its buffer followed: move its editors, and say so once, quietly
   * (nothing to say when VS Code had moved them itself: the person renamed it here).
   */
  private moved(m: Moved): Promise<void> {
    this.moves = this.moves.then(() => this.moveTabs(m));
    return this.moves;
  }

  /**
   * One rename's tabs at a time: a folder's rename moves several files at once, and their tabs,
   * opened and closed in one group all together, crossed ("Could NOT open editor"), leaving old
   * tabs open at gone paths (trial s58a F2).
   */
  private moves: Promise<void> = Promise.resolve();

  private async moveTabs(m: Moved): Promise<void> {
    let tabs = 0;
    try {
      tabs = await moveEditors(this.vs, m, { settled: () => this.sync.settled(m.from), typedWithin: (ms) => this.sync.typedWithin(ms) });
    } catch (e) {
      this.opts.log(`moving the editors of ${m.fromPath} to ${m.toPath}: ${messageOf(e)}`);
    }
    if (tabs === 0 && m.to !== m.from && m.replaced === undefined) return;
    const stays = m.to === m.from ? ` (its tab keeps the old name: close it and open ${m.toPath})` : '';
    this.opts.log(`told: ${m.fromPath} was renamed to ${m.toPath}${stays}`);
    void this.vs.window.setStatusBarMessage(`Chorus: ${m.fromPath} was renamed to ${m.toPath}${stays}`, 8000);
    if (m.replaced !== undefined) {
      void this.vs.window.showWarningMessage(`Chorus: ${m.toPath} was replaced by ${m.fromPath}, renamed; your unsaved text of the old ${m.toPath} is kept in an untitled tab, not shared: save it elsewhere to keep it.`);
    }
  }

  // ---- follow ------------------------------------------------------------------------------------

  async follow(peer: string): Promise<P.PeerInfo> {
    const rpc = this.requireRpc();
    const r = await request<P.ResultOf<typeof M.FollowStart>>(rpc, M.FollowStart.type, { peer });
    this.following = r.peer;
    this.opts.onState();
    const where = this.presence.cursors.get(r.peer.id);
    if (where) await this.show(where.path, where.viewport ?? { start: where.selections[0]!.head, end: where.selections[0]!.head }, !!where.viewport);
    return r.peer;
  }

  async unfollow(): Promise<void> {
    const rpc = this.requireRpc();
    await request(rpc, M.FollowStop.type, {});
  }

  /**
   * session/notice: something the daemon did to the person's files, shown as a VS Code message
   * of its level (bidi controls made visible, as the page does with names); a buffer of the file
   * whose own version was kept aside follows the session's text again.
   */
  notice(p: P.ParamsOf<typeof M.SessionNotice>): void {
    const text = `Chorus: ${M.visibleBidi(p.message)}`;
    const w = this.vs.window;
    void (p.type === 'error' ? w.showErrorMessage(text) : p.type === 'warning' ? w.showWarningMessage(text) : w.showInformationMessage(text));
    if (p.path !== undefined && p.kept !== undefined) this.sync.takeSessionText(p.path);
  }

  private followStopped(reason: string): void {
    const who = this.following?.name ?? 'them';
    this.following = undefined;
    this.opts.onState();
    const why = reason === 'typed' ? 'you typed' : reason === 'peerLeft' ? `${who} left` : 'you asked';
    void this.vs.window.setStatusBarMessage(`Chorus: stopped following ${who} (${why})`, 4000);
  }

  private async reveal(p: P.ParamsOf<typeof M.FollowReveal>): Promise<void> {
    await this.show(p.path, p.range, true);
  }

  /** Open `file` (project path) and show `range`: as the top of the view for a viewport. */
  async show(file: string, range: P.Range, viewport: boolean): Promise<void> {
    this.revealing++;
    try {
      const uri = this.vs.Uri.file(fileOf(this.root, file));
      const doc = await this.vs.workspace.openTextDocument(uri);
      const editor = await this.vs.window.showTextDocument(doc, { preserveFocus: false, preview: false });
      const r = doc.validateRange(new this.vs.Range(range.start.line, range.start.character, range.end.line, range.end.character));
      if (!viewport) editor.selection = new this.vs.Selection(r.start, r.start);
      // A viewport taller than ours would be revealed by its middle: put its first line on top
      // (VS Code keeps a few lines of context above it).
      if (viewport) editor.revealRange(new this.vs.Range(r.start, r.start), this.vs.TextEditorRevealType.AtTop);
      else editor.revealRange(r, this.vs.TextEditorRevealType.InCenterIfOutsideViewport);
    } finally {
      setTimeout(() => this.revealing--, 100);
    }
  }

  /** Jump to a person's cursor (once; not following). */
  async jumpTo(peerId: string): Promise<boolean> {
    const c = this.presence.cursors.get(peerId);
    if (!c || !c.selections[0]) return false;
    await this.show(c.path, { start: c.selections[0].head, end: c.selections[0].head }, false);
    return true;
  }

  /** The shared file in the active editor and the first line it shows (for tests and status). */
  activeView(): { path: string; top: number; bottom: number } | undefined {
    const editor = this.vs.window.activeTextEditor;
    const b = editor && this.sync.get(editor.document);
    const v = editor?.visibleRanges;
    return b ? { path: b.path, top: v?.[0]?.start.line ?? 0, bottom: v?.[v.length - 1]?.end.line ?? 0 } : undefined;
  }

  /** The connection, or a Told error saying why there is none and what to do. */
  requireRpc(): MessageConnection {
    const rpc = this.rpc;
    if (rpc) return rpc;
    const name = path.basename(this.root);
    if (this.state === 'stopped') throw new Told(`the daemon for ${name} was stopped with \`chorus stop\`. Run Chorus: Reconnect to start it, then try again.`);
    throw new Told(`not connected to the daemon for ${name} yet; Chorus reconnects on its own (Chorus: Reconnect tries now). Try again once the status bar shows it connected.`);
  }

  dispose(): void {
    clearTimeout(this.recheck);
    clearTimeout(this.settle);
    clearTimeout(this.cursorTimer);
    this.answers.reset();
    this.daemon.dispose();
    this.decorations.dispose();
  }
}

