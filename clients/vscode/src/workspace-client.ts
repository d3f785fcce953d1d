/**
 * Which project this window works in, and its one ChorusClient: found from the first workspace
 * folder (the nearest folder up with `.chorus/`), made on demand by Share and Join, and told to
 * the person when the CLI is missing or the daemon refuses us (a stale extension, say).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDaemonAnswer, messageOf, Told, wordsFor } from './errors.js';
import { ChorusClient } from './client.js';
import { CliNotFound, joinWithCli, resolveCli, tellCliNotFound, type CliJoinResult } from './connection.js';
import { findProjectRoot } from './project.js';
import type { Vscode } from './vscode-api.js';

export interface WorkspaceClientOptions {
  config<T>(key: string, fallback: T): T;
  log(message: string): void;
  version: string;
  /** The client, its state or its peers changed. */
  onState(client: ChorusClient | undefined): void;
}

export class WorkspaceClient {
  current: ChorusClient | undefined;
  private cliWarned = false;

  constructor(
    private readonly vs: Vscode,
    private readonly opts: WorkspaceClientOptions,
  ) {}

  /**
   * The workspace's project client; `create` makes the first folder a project (Share, Join). One
   * that lost its daemon is connected again first, once however many commands ask at a time
   * (each new connection replaces the last), except after `chorus stop`: only Chorus: Reconnect
   * starts that daemon again (decision 174). The `chorus` command is looked up anew each time
   * (the chorus.path setting as it is now). When it is missing: `explicit` (a command the person
   * ran; `create` is one) rejects with CliNotFound, for the command to say so; otherwise the
   * person is told once (at the first connect) and this resolves to undefined.
   */
  async get(create: boolean, explicit = create): Promise<ChorusClient | undefined> {
    const existing = this.current;
    if (existing) {
      if (!existing.rpc && existing.state !== 'stopped') await this.connect(existing).catch(() => undefined);
      return existing;
    }
    const folder = this.vs.workspace.workspaceFolders?.[0]?.uri;
    if (!folder || folder.scheme !== 'file') {
      if (create) throw new Told('open a folder first: Chorus shares a folder');
      return undefined;
    }
    const found = findProjectRoot(folder.fsPath);
    if (!found && !create) return undefined;
    const { config, log, version } = this.opts;
    const c = new ChorusClient(this.vs, fs.realpathSync(found ?? folder.fsPath), {
      cli: () => resolveCli(config('path', '')),
      delays: () => config('reconnectDelays', [250, 500, 1000, 2000, 5000]),
      showNames: () => config<string>('showNames', 'always') !== 'never',
      log,
      version,
      create: !found,
      onState: () => this.opts.onState(this.current),
    });
    this.current = c;
    this.opts.onState(c);
    try {
      await this.connect(c);
    } catch (e) {
      if (e instanceof CliNotFound) {
        c.dispose();
        this.current = undefined;
        this.opts.onState(undefined);
        log(`connecting: ${e.message}`);
        // A command the person ran says why it did nothing (not "not a shared project", which
        // the folder is: user trial); only the lookups nobody asked for keep quiet after one word.
        if (explicit) throw e;
        if (!this.cliWarned) tellCliNotFound(this.vs, e);
        this.cliWarned = true;
        return undefined;
      }
      // The daemon answered with an error (a protocol version it does not speak): say so. A
      // daemon that went away instead is retried by the connection on its own.
      if (isDaemonAnswer(e)) void this.vs.window.showErrorMessage(`Chorus: ${wordsFor(e, 'connecting', this.projectName(), log)}`);
      log(`first connect: ${messageOf(e)}`);
    }
    return c;
  }

  /** The connect under way for `c`, shared by everyone who asks meanwhile. */
  private connecting: { client: ChorusClient; done: Promise<unknown> } | undefined;

  /** Connect `c`, or join the connect under way; `fresh`: a new one all the same. */
  private connect(c: ChorusClient, fresh = false): Promise<unknown> {
    if (fresh || this.connecting?.client !== c) {
      const done = c.daemon.connect().finally(() => {
        if (this.connecting?.done === done) this.connecting = undefined;
      });
      this.connecting = { client: c, done };
    }
    return this.connecting.done;
  }

  /**
   * Chorus: Reconnect: connect now, once. A client made just now by `get` has connected already;
   * an existing one connects (a connect already under way is it: starting a second would dispose
   * the first under its requests). Rejects with why it could not (CliNotFound: the `chorus`
   * command, looked up anew, is still missing).
   */
  async reconnect(): Promise<ChorusClient | undefined> {
    const existing = this.current;
    if (!existing) return this.get(false, true);
    existing.sync.followAgain();
    // Connected: a fresh connection all the same, as asked (the old one's requests are not failures).
    await this.connect(existing, this.connecting?.client !== existing && existing.rpc !== undefined);
    return existing;
  }

  /**
   * The chorus.path setting changed: with no client (the command was missing), connect now with
   * the new setting, as a window reload would; the person is told once more if it is still
   * missing. A client that exists looks the command up anew at its next connect already.
   */
  async pathChanged(): Promise<void> {
    if (this.current) return;
    this.cliWarned = false;
    await this.get(false);
  }

  /** The name the person knows the project by: its folder's. */
  projectName(): string {
    const root = this.current?.root ?? this.vs.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return root ? path.basename(root) : 'this folder';
  }

  /**
   * Join `code` into the first workspace folder when it is not a project yet (no `.chorus/` at or
   * above it, no client): through `chorus join`, which checks the code before anything starts and
   * leaves no `.chorus/` folder or daemon behind when the join fails (connecting first and sending
   * session/join would leave both). Undefined when the folder is a project: join over its
   * connection instead. On success the client connects and shares the open documents.
   */
  async joinNewProject(code: string): Promise<{ result: CliJoinResult; client: ChorusClient | undefined } | undefined> {
    if (this.current) return undefined;
    const folder = this.vs.workspace.workspaceFolders?.[0]?.uri;
    if (!folder || folder.scheme !== 'file') throw new Told('open a folder first: Chorus shares a folder');
    if (findProjectRoot(folder.fsPath)) return undefined;
    const root = fs.realpathSync(folder.fsPath);
    const result = await joinWithCli(resolveCli(this.opts.config('path', '')), code, root);
    return { result, client: await this.get(false) };
  }

  dispose(): void {
    this.current?.dispose();
    this.current = undefined;
  }
}
