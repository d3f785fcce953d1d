/**
 * `chorus lsp`: a language server on stdio that is one more editor connection to the project's
 * daemon (started if none runs, as `chorus connect` does). LSP on one side, the Chorus editor
 * protocol on the other; this file wires the two, the jobs live in document-sync.ts (text),
 * presence.ts (cursors, join/leave) and commands.ts (executeCommand).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Schemas from '@chorus/protocol';
// Handles, not schemas: the daemon validates what it is sent, and `chorus lsp` loads no zod (decision 203).
import * as P from '@chorus/protocol/handles';
import {
  createConnection,
  LSPErrorCodes,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocumentSyncKind,
  type ClientCapabilities,
  type Connection,
  type InitializeResult,
  type TextDocumentItem,
} from 'vscode-languageserver/node';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { IgnoreRules } from '../disk/ignore-rules.js';
import { answerBadFrame, strictDecoder } from '../editor/rpc-edge.js';
import { ensureDaemon, findProject, projectAbove, StoppedByCommand } from '../lifecycle/daemon-process.js';
import { stoppedByCommand, stoppedMessage } from '../lifecycle/stop-mark.js';
import { editorConnection } from '../lifecycle/rpc-client.js';
import { toOffset, unitLength, type Encoding, type LineChar } from '../text/positions.js';
import { VERSION } from '../version.js';
import { leavesFolder, type Project } from '../project.js';
import { COMMANDS, runCommand, type CommandContext } from './commands.js';
import { beforeDeadline, DocumentSync, SAVE_WAIT_MS } from './document-sync.js';
import { OpenDocuments } from './open-documents.js';
import { PresenceView } from './presence.js';
import { tell } from './messages.js';
import { escapeControls } from '../log-line.js';

export interface LspOptions {
  /**
   * The project folder (made a project if it is not one yet). Default: the nearest folder with a
   * `.chorus/` at or above the client's root (or the working directory); with none, the server
   * makes no project and stays idle until a file inside one is opened (decision 134).
   */
  dir?: string | undefined;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Exit the process when the input closes (default true: the CLI). */
  exitOnClose?: boolean;
}

const ENCODINGS: Encoding[] = ['utf-8', 'utf-16', 'utf-32'];
/** `CHORUS_LSP_TRACE=file`: append every sync decision to that file (for diagnosing a client). */
const traceFile = process.env.CHORUS_LSP_TRACE;

/**
 * The position encoding: the first the client lists in LSP 3.17's general.positionEncodings
 * that Chorus supports, else the first of the older `offsetEncoding` extension (clangd's, which
 * some clients send), else UTF-16 as LSP requires.
 */
export function negotiateEncoding(caps: ClientCapabilities): { encoding: Encoding; viaExtension: boolean } {
  for (const e of caps.general?.positionEncodings ?? []) if ((ENCODINGS as string[]).includes(e)) return { encoding: e as Encoding, viaExtension: false };
  const ext = (caps as { offsetEncoding?: unknown }).offsetEncoding;
  if (Array.isArray(ext)) for (const e of ext) if ((ENCODINGS as string[]).includes(e)) return { encoding: e as Encoding, viaExtension: true };
  return { encoding: 'utf-16', viaExtension: false };
}

/** Whether a failed request failed because the connection went away (JSON-RPC's reserved -32099..-32000), not because the daemon refused it. */
function connectionLost(e: unknown): boolean {
  return !(e instanceof ResponseError) || (e.code >= -32099 && e.code <= -32000);
}

/** The folder the client says it works in (LSP `workspaceFolders`, `rootUri`, or the old `rootPath`), if it names one on disk. */
function clientRoot(params: { workspaceFolders?: Array<{ uri: string }> | null; rootUri?: string | null; rootPath?: string | null }): string | undefined {
  for (const uri of [params.workspaceFolders?.[0]?.uri, params.rootUri]) {
    if (typeof uri !== 'string' || !uri.startsWith('file:')) continue;
    try {
      return fileURLToPath(uri);
    } catch {
      // not a local path
    }
  }
  return typeof params.rootPath === 'string' && path.isAbsolute(params.rootPath) ? params.rootPath : undefined;
}

/** A document being opened: the client's changes meanwhile, in order, and whether it closed it. */
interface Opening {
  changes: Array<{ changes: Parameters<DocumentSync['clientChanged']>[0]; version: number }>;
  closed: boolean;
}

/** Run the server until the client goes away. */
export function runLspServer(opts: LspOptions = {}): Connection {
  const reader = new StreamMessageReader(opts.input ?? process.stdin, { charset: 'utf-8', contentTypeDecoder: strictDecoder });
  const writer = new StreamMessageWriter(opts.output ?? process.stdout);
  const lsp = createConnection(reader, writer);
  // A frame that is not JSON-RPC gets an error answer; the server keeps reading.
  reader.onError((e) => answerBadFrame(writer, e));
  // The editor went away without `exit` (killed, crashed): so does the server; the daemon
  // closes this editor's buffers when the connection drops.
  reader.onClose(() => {
    shuttingDown = true;
    daemon?.dispose();
    answers.reset();
    if (opts.exitOnClose !== false) process.exit(0);
  });

  let daemon: MessageConnection | undefined;
  /**
   * Edits the daemon has not answered (answer-watch.ts): one stopped (`kill -STOP`) keeps the
   * connection and answers nothing, and the person is told once, and when it answers again.
   */
  const answers = new P.AnswerWatch({
    slow: (seconds, waiting) => tell(lsp, 'warning', `Chorus: ${P.notAnsweringWords(root, seconds, waiting)}`),
    again: () => tell(lsp, 'info', `Chorus: ${P.answersAgainWords(root)}`),
  });
  let encoding: Encoding = 'utf-16';
  let caps: ClientCapabilities = {};
  let root = '';
  let project: Project | undefined;
  let clientName = 'LSP client (chorus lsp)';
  let shuttingDown = false;
  const docs = new OpenDocuments();
  /**
   * Documents whose opening is under way (from the client's didOpen, through finding and
   * starting the project's daemon, to the daemon's buffer/open answer): the client's changes
   * meanwhile, replayed after in order, so nothing typed while a daemon starts is lost.
   */
  const opening = new Map<string, Opening>();
  /** URI → its buffer/open under way (requests about it wait for it). */
  const openings = new Map<string, Promise<void>>();
  let lastUri: string | undefined;
  const log = (m: string) => lsp.console.log(`chorus: ${m}`);
  /** Connecting to the daemon of the project a file opened while idle is in (decision 134). */
  let connecting: Promise<void> | undefined;
  /** Folders already found to be in no project while idle (each is said once). */
  const outside = new Set<string>();
  /**
   * The daemon connection, for a request the person asked for; without one, a ResponseError
   * saying why there is none and what to do (LSP's RequestFailed: the client shows its message).
   */
  const link = () => {
    if (daemon) return daemon;
    if (!project) throw new ResponseError(P.ErrorCodes.NotInitialized, 'Chorus is idle here: no file open in this editor is inside a Chorus project (a folder with .chorus/; chorus share makes one)');
    throw new ResponseError(LSPErrorCodes.RequestFailed, `Chorus: ${noDaemon(project)}`);
  };
  /** Why there is no daemon connection now, and what to do (a clause, no "Chorus: "). */
  const noDaemon = (p: Project): string =>
    stopped
      ? `${stoppedMessage(p)}: run the command chorus.reconnect to start it again, or restart this language server`
      : reconnecting
        ? `the daemon for ${p.root} went away and Chorus is reconnecting (what you type is kept): try again in a moment, or run the command chorus.reconnect`
        : `this language server is not connected to the daemon for ${p.root} yet: try again in a moment, or run the command chorus.reconnect`;

  const presence = new PresenceView(lsp, {
    lookup(p) {
      const doc = docs.at(p);
      if (!doc) return undefined;
      return {
        uri: doc.uri,
        toClient: (pos: LineChar) => doc.toClientPosition(pos),
        lineLength: (line: number) => {
          const lines = doc.shadow.split('\n');
          const text = lines[line] ?? '';
          return unitLength(text, 0, text.length, encoding);
        },
      };
    },
  });
  const commandContext: CommandContext = {
    lsp,
    get daemon() {
      return link();
    },
    pathOf: async (uri) => {
      const u = uri ?? lastUri;
      if (u === undefined) return undefined;
      await openings.get(u);
      return docs.get(u)?.path;
    },
    following: undefined,
    async reconnect() {
      if (daemon) return void tell(lsp, 'info', `Chorus: connected to the daemon for ${root} already`);
      if (!project) throw new ResponseError(P.ErrorCodes.NotInitialized, 'Chorus is idle here: no file open in this editor is inside a Chorus project (a folder with .chorus/; chorus share makes one)');
      if (reconnecting && !stopped) return void tell(lsp, 'info', `Chorus: reconnecting to the daemon for ${project.root} already`);
      await reconnect(true);
    },
  };

  lsp.onInitialize(async (params): Promise<InitializeResult> => {
    caps = params.capabilities;
    const negotiated = negotiateEncoding(caps);
    encoding = negotiated.encoding;
    clientName = `${params.clientInfo?.name ?? 'LSP client'} (chorus lsp)`.slice(0, 200);
    try {
      // An editor may start this server for every file it opens, anywhere (a global setting):
      // only --dir makes a project; otherwise one must be there already (decision 134).
      project = opts.dir !== undefined ? findProject(opts.dir) : projectAbove(clientRoot(params) ?? process.cwd());
    } catch (e) {
      throw new ResponseError(P.ErrorCodes.InvalidParams, `chorus lsp: ${(e as Error).message}`);
    }
    if (project) {
      try {
        await connectDaemon(project);
      } catch (e) {
        throw new ResponseError(P.ErrorCodes.SessionError, `chorus lsp could not reach the daemon for ${project.root}: ${(e as Error).message}`);
      }
    } else {
      log(`${clientRoot(params) ?? process.cwd()} is not inside a Chorus project (no .chorus/ folder there or above): idle until a file inside one is opened (chorus share makes a folder a project)`);
    }
    if (!caps.workspace?.applyEdit) log("this editor does not accept workspace/applyEdit: others' changes cannot reach it");
    return {
      capabilities: {
        positionEncoding: encoding,
        // willSaveWaitUntil: a save has the daemon write the shared text first (decision 222).
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, willSaveWaitUntil: true, save: { includeText: false } },
        executeCommandProvider: { commands: [...COMMANDS] },
        // Clients that highlight the symbol under the cursor tell us where the cursor is.
        documentHighlightProvider: true,
      },
      serverInfo: { name: 'chorus', version: VERSION },
      ...(negotiated.viaExtension ? { offsetEncoding: encoding } : {}),
    } as InitializeResult;
  });

  lsp.onInitialized(() => {
    if (daemon) void firstSync();
  });

  /** The first sync, shown as work-done progress where the client supports it. */
  async function firstSync(): Promise<void> {
    const progress = caps.window?.workDoneProgress ? await lsp.window.createWorkDoneProgress().catch(() => undefined) : undefined;
    progress?.begin('Chorus', 0, 'syncing with the session', false);
    try {
      const st = await link().sendRequest(P.SessionStatus.type, undefined);
      const files = await link().sendRequest(P.WorkspaceFiles.type, undefined);
      const others = st.peers.filter((p) => p.id !== st.peer.id);
      progress?.report(50, `${files.files.length} files, ${others.length} other${others.length === 1 ? '' : 's'} in the session`);
      await Promise.all([...openings.values()]);
      log(`connected to the daemon for ${st.root} as ${st.peer.name}`);
    } catch (e) {
      tell(lsp, 'error', `Chorus: the first sync failed: ${(e as Error).message}`);
    } finally {
      progress?.done();
    }
  }

  function bindDaemon(d: MessageConnection): void {
    d.onNotification(P.BufferDidChange.type, (p) => {
      const doc = docs.at(p.path);
      if (!doc) return;
      try {
        doc.daemonChanged(p.revision, p.changes);
      } catch (e) {
        log(`a change from the daemon for ${p.path} did not apply: ${(e as Error).message}`);
      }
    });
    d.onNotification(P.CursorDidChange.type, (p) => presence.cursor(p));
    d.onNotification(P.PeerDidJoin.type, (p) => presence.joined(p.peer, p.reason));
    d.onNotification(P.PeerDidLeave.type, (p) => presence.left(p.peer, p.reason));
    d.onNotification(P.FollowReveal.type, (p) => void reveal(p));
    d.onNotification(P.SessionNotice.type, (p) => {
      // What the daemon did to the person's files: a window/showMessage at the notice's level,
      // its control and bidi characters escaped (a path from a peer cannot reorder the line).
      tell(lsp, p.type, `Chorus: ${escapeControls(p.message)}`);
      const item = p.path !== undefined && p.kept !== undefined ? refused.get(p.path) : undefined;
      if (item) {
        refused.delete(p.path!);
        void takeSessionText(item).catch((e: Error) => log(`opening ${item.uri} again failed: ${e.message}`));
      }
    });
    d.onNotification(P.FollowDidStop.type, (p) => {
      const who = commandContext.following?.name ?? 'them';
      commandContext.following = undefined;
      tell(lsp, 'info', `Chorus: stopped following ${who} (${p.reason === 'typed' ? 'you typed' : p.reason === 'peerLeft' ? 'they left' : 'asked'})`);
    });
    // The daemon says buffer/didRename for each open buffer it moves; a rename in
    // workspace/didChange of a document still at its old path is the same news.
    d.onNotification(P.BufferDidRename.type, (p) => followRename(p.from, p.to));
    d.onNotification(P.WorkspaceDidChange.type, (p) => {
      for (const { from, to } of p.renamed ?? []) followRename(from, to);
    });
    d.onClose(() => {
      if (daemon !== d) return;
      daemon = undefined;
      answers.reset(); // a lost connection is said as such; its edits go again with the re-open
      // Nothing goes to a new daemon for a document before it is re-opened there (reconnect).
      for (const doc of docs.values()) doc.detach();
      if (!shuttingDown) void reconnect();
    });
  }

  /**
   * Connect (starting the daemon if none runs) and initialize as this editor. `unlessStopped`
   * (an automatic reconnect): a daemon stopped with `chorus stop` is not started, StoppedByCommand.
   */
  async function connectDaemon(p: Project, opts: { unlessStopped?: boolean } = {}): Promise<void> {
    const socket = await ensureDaemon(p, [], undefined, opts);
    // A client that does not ask before it saves (no willSaveWaitUntil: Neovim 0.7) writes its
    // buffer over the file the daemon keeps writing; the daemon then knows that write by its text.
    const savesItself = caps?.textDocument?.synchronization?.willSaveWaitUntil !== true;
    const r = await editorConnection(socket, { clientInfo: { name: clientName, version: VERSION }, positionEncodings: [encoding], savesItself });
    if (r.init.positionEncoding !== encoding) {
      r.conn.dispose();
      socket.destroy();
      throw new Error(`the daemon chose ${r.init.positionEncoding}, not ${encoding}`);
    }
    root = r.init.root;
    daemon = r.conn;
    bindDaemon(r.conn);
  }

  /** A reconnect under way (automatic, or asked for with chorus.reconnect). */
  let reconnecting = false;
  /** The daemon was stopped with `chorus stop`: no automatic reconnect until chorus.reconnect (decision 174). */
  let stopped = false;

  /** Give up reconnecting on our own, and say why and what starts the daemon again. */
  function stayStopped(p: Project): void {
    stopped = true;
    tell(lsp, 'warning', `Chorus: ${stoppedMessage(p)}: run the command chorus.reconnect, or restart this language server`);
  }

  /**
   * The daemon went away (stopped, crashed, upgraded): connect again, starting one if needed,
   * and re-open every document with its text and the text last in step (`base`), so what the
   * person typed meanwhile is merged and others' changes are kept, as the plugins do. A daemon
   * stopped with `chorus stop` is not started again unless `asked` (the chorus.reconnect command).
   */
  async function reconnect(asked = false): Promise<void> {
    const p = project!;
    if (!asked && stoppedByCommand(p)) return stayStopped(p);
    if (!asked) tell(lsp, 'warning', `Chorus: lost the daemon for ${root}; reconnecting (keep typing, nothing is lost)`);
    stopped = false;
    reconnecting = true;
    try {
      for (let delay = asked ? 0 : 100; !shuttingDown; delay = Math.min(Math.max(delay * 2, 100), 5000)) {
        await new Promise((r) => setTimeout(r, delay));
        try {
          await connectDaemon(p, { unlessStopped: !asked });
          break;
        } catch (e) {
          if (e instanceof StoppedByCommand) return stayStopped(p);
          log(`reconnecting: ${(e as Error).message}`);
        }
      }
    } finally {
      reconnecting = false;
    }
    const d = daemon;
    if (!d) return;
    // One at a time, each detached until its answer (what is typed meanwhile waits for it); one
    // closed while an earlier one was being re-opened is not re-opened.
    for (const doc of [...docs.values()]) {
      if (docs.get(doc.uri) !== doc) continue;
      doc.detach();
      const { text, base, pending } = doc.reopenParams();
      try {
        const r = await d.sendRequest(P.BufferOpen.type, { path: doc.path, content: text, base, ...(pending ? { pending } : {}) });
        doc.reopened(r.content);
        // That daemon went too meanwhile: the next reconnect re-opens it from this answer.
        if (daemon !== d) doc.detach();
      } catch (e) {
        // The daemon went again: the next reconnect takes over, with what is typed meanwhile.
        if (connectionLost(e)) continue;
        doc.markOutOfStep(`could not open it again after reconnecting: ${(e as Error).message}`);
      }
    }
    // Documents the client opened while there was no daemon: opened now, their text merged
    // with the project's from the text they were opened with (decision 186).
    let shared = 0;
    // One at a time until none waits (a document opened while this runs waits too), unless the
    // daemon went again: the next reconnect takes over.
    for (let uri = docs.waitingUris()[0]; uri !== undefined && daemon === d; uri = docs.waitingUris()[0]) if (await openWaiting(uri, d)) shared++;
    const more = shared ? `; ${shared} file${shared === 1 ? '' : 's'} opened meanwhile ${shared === 1 ? 'is' : 'are'} shared now` : '';
    tell(lsp, 'info', `Chorus: reconnected to the daemon for ${root}${more}`);
  }

  /**
   * The file of an open document was renamed (by a peer, on disk, or found so on a re-open):
   * the document keeps the client's URI and syncs at its new path, and the person is told once
   * what to do. LSP has no way to move the client's document to a file already at its new name
   * (decision 158): every client's RenameFile moves the file itself.
   */
  function followRename(from: string, to: string): void {
    const moved = docs.move(from, to);
    if (!moved) return;
    const { doc, displaced } = moved;
    if (displaced) {
      // Another of the client's documents was open at `to`: the daemon's buffer there is the
      // renamed file's now, so that one can no longer be kept in step.
      displaced.markOutOfStep(`it was replaced by ${from}, renamed to ${to}`);
      presence.clear(displaced.uri);
      docs.retire(displaced);
    }
    presence.renamed(from, to);
    const name = docs.nameOf(doc);
    if (name === to) return; // renamed back to the name the editor has
    tell(
      lsp,
      'warning',
      `Chorus: ${from} was renamed to ${to} (by someone in the session, or on disk). Your editor still has it open as ${name}: what you type there goes to ${to}, so nothing is lost, but saving it would bring ${name} back as a second file. Open ${to} (it takes over from ${name}) and close ${name} without saving.`,
    );
  }

  /**
   * The client opens `uri` at `rel`, where a document it has under another URI (the same file
   * before a rename) syncs: that one is retired first, its held typing sent, so that the new
   * open takes the daemon's buffer with everything in it.
   */
  function handOver(rel: string, uri: string): void {
    const holder = docs.at(rel);
    if (!holder || holder.uri === uri) return;
    const name = docs.nameOf(holder);
    presence.clear(holder.uri);
    docs.retire(holder);
    tell(lsp, 'info', `Chorus: ${rel} is open under its own name now; ${name} (the same file, under another name) is no longer shared from this editor: close it without saving.`);
  }

  /** Follow mode: show where the followed person is (window/showDocument, LSP 3.16). */
  async function reveal(p: Schemas.ParamsOf<typeof Schemas.FollowReveal>): Promise<void> {
    const uri = docs.at(p.path)?.uri ?? pathToFileURL(path.join(root, p.path)).href;
    const doc = docs.get(uri);
    const map = (pos: LineChar) => (doc ? (doc.toClientPosition(pos) ?? pos) : pos);
    const selection = { start: map(p.range.start), end: map(p.range.end) };
    if (caps.window?.showDocument?.support) await lsp.window.showDocument({ uri, selection, takeFocus: true }).catch(() => undefined);
    else tell(lsp, 'info', `Chorus: ${p.peer.name} is at ${p.path}:${selection.start.line + 1}`);
  }

  function portFor(docPath: () => string, uri: string, fail: (m: string) => void) {
    return {
      edit: (revision: number, changes: Schemas.TextChange[], id: string, undoStop: boolean): Promise<boolean> | undefined => {
        const d = daemon;
        // Without a daemon the edit waits in the text re-opened after reconnecting.
        if (!d) return undefined;
        const answer = d.sendRequest(P.BufferEdit.type, { path: docPath(), revision, changes, id, ...(undoStop ? { undoStop } : {}) });
        answers.watch(answer);
        return answer.then(
          () => true,
          (e: unknown) => {
            // A refusal (read-only, bad position) puts the document out of step; a connection
            // that went away does not: the re-open after reconnecting carries the edit (or,
            // when the daemon applied it unanswered, its id in `pending`).
            if (daemon === d && !connectionLost(e)) fail(`the daemon refused an edit: ${(e as Error).message}`);
            return false;
          },
        );
      },
      save: (): Promise<boolean> | undefined => {
        const d = daemon;
        if (!d) return undefined;
        const at = docPath();
        // Refused for a buffer that is not shared (view mode), or failed to write: the client
        // writes its own text, as it did before decision 222; the log says why.
        return d.sendRequest(P.BufferSave.type, { path: at }).then(
          () => true,
          (e: unknown) => {
            log(`the daemon did not write ${at} for the editor's save (the editor writes it itself): ${(e as Error).message}`);
            return false;
          },
        );
      },
      caret: (position: LineChar) => {
        void daemon?.sendNotification(P.CursorSet.type, { path: docPath(), selections: [{ anchor: position, head: position }] }).catch(() => undefined);
      },
      applyEdit: async (version: number, edits: import('vscode-languageserver').TextEdit[]) => {
        const r = await lsp.workspace.applyEdit({ label: 'Chorus', edit: { documentChanges: [{ textDocument: { uri, version }, edits }] } });
        return r.applied;
      },
      ...(traceFile ? { trace: (event: string) => fs.appendFileSync(traceFile, `${new Date().toISOString()} ${docPath()}: ${event}\n`) } : {}),
      outOfStep: (message: string) => {
        log(message);
        tell(lsp, 'error', `Chorus: ${message}`);
      },
      notice: (message: string) => {
        log(message);
        tell(lsp, 'warning', `Chorus: ${message}`);
      },
    };
  }

  /**
   * While idle (no project at start), a file opened inside a project connects this server to
   * that project's daemon; false when the file is in none (said once per folder).
   */
  async function projectFor(abs: string): Promise<boolean> {
    if (project) {
      await connecting;
      return project !== undefined;
    }
    const found = projectAbove(path.dirname(abs));
    if (!found) {
      const dir = path.dirname(abs);
      if (!outside.has(dir) && outside.size < 1000) {
        outside.add(dir);
        log(`not sharing files in ${dir}: it is not inside a Chorus project (no .chorus/ folder there or above)`);
      }
      return false;
    }
    project = found;
    connecting = connectDaemon(found).then(
      () => log(`connected to the daemon for ${root}`),
      (e: unknown) => {
        project = undefined; // idle again: the next file opened tries again
        tell(lsp, 'error', `Chorus: could not reach the daemon for ${found.root}: ${(e as Error).message}`);
      },
    );
    await connecting;
    return daemon !== undefined;
  }

  /**
   * Documents the daemon refused to open (a read-only member's own file, not shared), by project
   * path, with the client's text as it still is: when the daemon keeps that text aside and the
   * session's file takes the path (session/notice with `kept`), the document is opened again and
   * follows the session (decision 184). Forgotten when the client changes or closes it.
   */
  const refused = new Map<string, TextDocumentItem>();
  /** The client changed or closed `uri`: its refused text is no longer what it shows. */
  const forgetRefused = (uri: string): void => {
    for (const [p, item] of refused) if (item.uri === uri) refused.delete(p);
  };

  /** `item`, refused before and kept aside by the daemon since: open it taking the session's text (its own as `base`). */
  async function takeSessionText(item: TextDocumentItem): Promise<void> {
    await open(item, item.text);
  }

  /**
   * Open the waiting document `uri` with the daemon now connected (its text as the client has it
   * when it is sent) on `d`, the daemon connected now; true when it is shared now (the daemon
   * may refuse it, as any open).
   */
  async function openWaiting(uri: string, d: MessageConnection): Promise<boolean> {
    const p = open({ uri, languageId: '', version: 0, text: '' }, undefined, true).catch((e: Error) => log(`opening ${uri} failed: ${e.message}`));
    openings.set(uri, p);
    await p;
    if (openings.get(uri) === p) openings.delete(uri);
    // Still waiting with that daemon there: not to be shared at all (the project ignores it now).
    if (daemon === d) docs.takeWaiting(uri);
    return docs.get(uri) !== undefined;
  }

  /**
   * Open `item` with the daemon (`keptBase`: the base to merge from, else the rule below).
   * `waiting`: it is a document that waited for the daemon; its text and base are taken from
   * there at the moment it is sent, so no change the client makes meanwhile is missed.
   */
  async function open(item: TextDocumentItem, keptBase?: string, waiting = false): Promise<void> {
    if (!item.uri.startsWith('file:')) return;
    // From here on, the client's changes to it are kept (a waiting document keeps its own).
    const pending: Opening = { changes: [], closed: false };
    if (!waiting) opening.set(item.uri, pending);
    try {
      await openKept(item, pending, keptBase, waiting);
    } finally {
      if (opening.get(item.uri) === pending) opening.delete(item.uri);
    }
  }

  /** `open`, with `pending` collecting the client's changes and closing until it is done. */
  async function openKept(item: TextDocumentItem, pending: Opening, keptBase: string | undefined, waiting: boolean): Promise<void> {
    const abs = fileURLToPath(item.uri);
    if (!(await projectFor(abs)) || pending.closed) return;
    // A buffer the editor just read never overrides the shared text: the file on disk may be
    // older than the session (the daemon writes it a moment after each change, and a peer may
    // be typing while the editor opens it), so with `base` = the buffer's text the daemon's
    // text wins and the difference comes back as an edit, which the editor can undo. Only a
    // file not on disk yet is taken as the person's (base '': nothing the daemon has is lost),
    // unless the buffer is empty (nothing, or the lone line break Neovim reports for a new
    // buffer): a view-mode folder has no session file on disk, and that line break, taken as
    // typed, put an empty line at the top of the file for everyone (trial s63 F5).
    // An editor starts this server for every file it opens: what the project ignores (.env,
    // build output, .gitignore'd secrets) is never shared. Paths outside are the daemon's call.
    const rel = path.relative(root, abs);
    const relPath = rel.split(path.sep).join('/');
    const ignored = leavesFolder(rel) ? undefined : new IgnoreRules(root).why(relPath);
    if (ignored !== undefined) {
      log(`not sharing ${rel}: the project ignores it (${ignored})`);
      // Told, as the editor plugins tell it: the person typing in .env should know nobody sees it
      // (a log line alone reached no one: Neovim shows warnings only, eglot keeps it in a buffer).
      tell(lsp, 'info', `Chorus: ${P.ignoredWords(relPath, ignored)}`);
      return;
    }
    let disk: string | undefined;
    try {
      disk = fs.readFileSync(abs, 'utf8');
    } catch {
      // not on disk (yet)
    }
    let base = keptBase ?? (disk === undefined && !/^(\r?\n)?$/.test(item.text) ? '' : item.text);
    const d = daemon;
    /** The document waits for a daemon, with the changes the client made since it opened it. */
    const wait = (): void => {
      waitForDaemon(item, base, relPath);
      for (const c of pending.changes.splice(0)) waitingChanged(item.uri, c.changes, c.version);
    };
    if (!d) return waiting ? undefined : wait();
    if (waiting) {
      const w = docs.takeWaiting(item.uri);
      if (!w) return; // closed meanwhile
      item = w.item;
      base = keptBase = w.base;
      opening.set(item.uri, pending);
    }
    handOver(relPath, item.uri);
    let answer: Schemas.ResultOf<typeof Schemas.BufferOpen>;
    try {
      answer = await d.sendRequest(P.BufferOpen.type, { path: abs, content: item.text, base });
    } catch (e) {
      opening.delete(item.uri);
      // The daemon went away meanwhile: the document waits for the reconnect.
      if (connectionLost(e)) return pending.closed ? undefined : wait();
      // Files outside the project, binary or too large ones are simply not shared. Kept to be
      // opened again if the daemon keeps it aside, unless the client has changed it since.
      log(`not sharing ${abs}: ${(e as Error).message}`);
      // Said as the plugins say it (a log line reached nobody: trial s62 F3).
      tell(lsp, 'info', `Chorus: not sharing ${relPath}: ${(e as Error).message}`);
      if (pending.changes.length === 0 && !pending.closed) refused.set(relPath, item);
      return;
    }
    refused.delete(relPath);
    opening.delete(item.uri);
    if (pending.closed) {
      void d.sendRequest(P.BufferClose.type, { path: answer.path }).catch(() => undefined);
      return;
    }
    if (answer.shared === false) {
      // Not shared (this folder's own file in view mode; a file gone from the session while the
      // editor was away): the client edits it as a local file, and nothing of it is sent. Synced
      // as shared, its first edit was refused and the person told the file was out of step.
      const why = answer.notShared ?? `${answer.path} is not shared`;
      log(`not sharing ${abs}: ${why}`);
      tell(lsp, 'info', `Chorus: ${why}`);
      if (pending.changes.length === 0) refused.set(relPath, item);
      return;
    }
    if (keptBase === undefined && disk !== undefined && item.text !== disk && item.text !== answer.content) {
      tell(lsp, 'warning', `Chorus: ${answer.path} in your editor differed from the file and from the shared text (typed before Chorus was ready?); it now shows the shared text. Undo in your editor to get yours back; that change is then shared.`);
    }
    let doc: DocumentSync | undefined;
    const fail = (m: string) => doc?.markOutOfStep(m);
    doc = new DocumentSync(answer.path, item.uri, encoding, item.text, item.version, answer.content, portFor(() => doc!.path, item.uri, fail));
    handOver(answer.path, item.uri); // a path the daemon resolved otherwise (a symbolic link)
    docs.add(doc);
    for (const c of pending.changes) changed(doc, c.changes, c.version);
    doc.start();
    presence.render(answer.path);
  }

  /**
   * `item` was opened while there is no daemon (stopped, or reconnecting): it is kept, with the
   * client's changes, and opened with the daemon when one is connected (decision 186). Says so.
   */
  function waitForDaemon(item: TextDocumentItem, base: string, rel: string): void {
    docs.wait(item, base);
    tell(lsp, 'warning', `Chorus: ${rel} is not shared yet: ${noDaemon(project!)}. What you type in it is kept and shared once the daemon is back.`);
  }

  /** A didChange of a waiting document; false when `uri` is not waiting. */
  function waitingChanged(uri: string, changes: Parameters<DocumentSync['clientChanged']>[0], version: number): boolean {
    try {
      return docs.changeWaiting(uri, changes, version, encoding);
    } catch (e) {
      tell(lsp, 'error', `Chorus: a change from the editor to ${nameOfUri(uri)} does not fit its own text (${(e as Error).message}); it will not be shared: close it and open it again.`);
      return true;
    }
  }

  /** The project path a client URI names, for messages (the URI itself when it names none). */
  function nameOfUri(uri: string): string {
    try {
      return path.relative(root, fileURLToPath(uri)).split(path.sep).join('/');
    } catch {
      return uri;
    }
  }

  function changed(doc: DocumentSync, changes: Parameters<DocumentSync['clientChanged']>[0], version: number): void {
    try {
      doc.clientChanged(changes, version);
    } catch {
      // reported to the person by the document (it is out of step now)
    }
  }

  lsp.onDidOpenTextDocument(({ textDocument }) => {
    lastUri = textDocument.uri;
    const p = open(textDocument).catch((e: Error) => log(`opening ${textDocument.uri} failed: ${e.message}`));
    openings.set(textDocument.uri, p);
    void p.finally(() => openings.get(textDocument.uri) === p && openings.delete(textDocument.uri));
  });

  lsp.onDidChangeTextDocument(({ textDocument, contentChanges }) => {
    lastUri = textDocument.uri;
    const pending = opening.get(textDocument.uri);
    if (pending) return void pending.changes.push({ changes: contentChanges, version: textDocument.version });
    const doc = docs.get(textDocument.uri);
    if (doc) return void changed(doc, contentChanges, textDocument.version);
    if (waitingChanged(textDocument.uri, contentChanges, textDocument.version)) return;
    forgetRefused(textDocument.uri);
    const retired = docs.retiredAt(textDocument.uri);
    if (retired && !retired.toldOfChange) {
      retired.toldOfChange = true;
      tell(lsp, 'warning', `Chorus: your change to ${nameOfUri(textDocument.uri)} was not shared: that file was renamed to ${retired.path}, which is open in your editor; make the change there.`);
    }
  });

  lsp.onDidSaveTextDocument(({ textDocument }) => {
    // The daemon writes the shared text to disk itself; the client's own write is the same text,
    // unless the client saved a renamed file under its old name: that made the old name a file
    // again, which the daemon shares as a new one.
    const doc = docs.get(textDocument.uri);
    const now = doc ? doc.path : docs.retiredAt(textDocument.uri)?.path;
    const name = doc ? docs.nameOf(doc) : nameOfUri(textDocument.uri);
    if (now === undefined || now === name) return;
    tell(lsp, 'warning', `Chorus: you saved ${name}, which was renamed to ${now}: ${name} is a file again, a copy of that text, and Chorus shares it as a new file. Delete ${name} if you do not want it; the renamed file is ${now}.`);
  });

  // A save: the daemon writes the shared text, and the client is brought to it before it writes
  // its own (decision 222). A document not shared (ignored, outside the project) is the client's
  // to write; within the bound, anything that goes wrong answers no edits, as before.
  lsp.onWillSaveTextDocumentWaitUntil(async ({ textDocument }) => {
    const started = Date.now();
    const underWay = openings.get(textDocument.uri);
    if (underWay) await beforeDeadline(underWay, SAVE_WAIT_MS);
    const doc = docs.get(textDocument.uri);
    if (!doc) return [];
    return doc.willSave(SAVE_WAIT_MS - (Date.now() - started)); // never rejects
  });

  lsp.onDidCloseTextDocument(({ textDocument }) => {
    forgetRefused(textDocument.uri);
    if (docs.forgetWaiting(textDocument.uri)) return;
    const pending = opening.get(textDocument.uri);
    if (pending) return void (pending.closed = true);
    // A retired URI (its file open under its new name) closes nothing on the daemon.
    const doc = docs.remove(textDocument.uri);
    if (!doc) return;
    doc.close();
    presence.clear(textDocument.uri);
    // Without a daemon there is nothing to close: the reconnect re-opens only what is open.
    void daemon?.sendRequest(P.BufferClose.type, { path: doc.path }).catch(() => undefined);
  });

  lsp.onDocumentHighlight(async ({ textDocument, position }) => {
    await openings.get(textDocument.uri);
    const doc = docs.get(textDocument.uri);
    if (!doc) return [];
    lastUri = textDocument.uri;
    let at: LineChar;
    try {
      toOffset(doc.shadow, position, encoding);
      at = doc.toDaemonPosition(position);
    } catch (e) {
      throw new ResponseError(P.ErrorCodes.InvalidParams, `position out of range in ${textDocument.uri}: ${(e as Error).message}`);
    }
    // Editors ask for highlights on their own as the cursor rests: without a daemon, no error.
    void daemon?.sendNotification(P.CursorSet.type, { path: doc.path, selections: [{ anchor: at, head: at }] }).catch(() => undefined);
    return [];
  });

  lsp.onExecuteCommand(({ command, arguments: args }) => runCommand(commandContext, command, args ?? []));

  lsp.onShutdown(async () => {
    shuttingDown = true;
    await daemon?.sendRequest(P.Shutdown.type, undefined).catch(() => undefined);
  });

  // A failure in one handler is logged; the server keeps serving.
  process.on('unhandledRejection', (e) => log(`internal error (the server keeps running): ${(e as Error)?.stack ?? String(e)}`));
  lsp.listen();
  return lsp;
}
