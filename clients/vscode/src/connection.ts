/**
 * The connection to this project's daemon: `chorus connect <root>` spawned as a child process,
 * JSON-RPC (vscode-jsonrpc, LSP framing) over its stdio, `initialize` with `utf-16`. When the
 * daemon goes away the person is told once, buffers stay editable, and the connection comes back
 * on its own (with the delays of `chorus.reconnectDelays`), except after `chorus stop`: the
 * retries (`chorus connect --reconnect`) do not start a daemon stopped that way, and the
 * connection waits for Chorus: Reconnect (decision 174).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as M from '@chorus/protocol';
import type * as P from '@chorus/protocol';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { isDaemonAnswer, Told } from './errors.js';
import type { Vscode } from './vscode-api.js';

/** How to start the CLI: the program and the arguments before `connect`. */
export interface CliCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** Why the CLI could not be found, in words a person can act on. */
export class CliNotFound extends Told {}

/** Tell the person the CLI is missing (`e`'s words), with a button to the chorus.path setting. */
export function tellCliNotFound(vs: Pick<Vscode, 'window' | 'commands'>, e: CliNotFound): void {
  void vs.window.showErrorMessage(`Chorus: ${e.message}`, 'Open Settings').then((a) => a && vs.commands.executeCommand('workbench.action.openSettings', 'chorus.path'));
}

/**
 * The `chorus` CLI to run: `setting` (the `chorus.path` setting: an executable, or a `.js` file
 * run with this Node/Electron) or `chorus` found on `PATH`. Throws CliNotFound with what to do.
 */
export function resolveCli(setting: string, envPath = process.env.PATH ?? ''): CliCommand {
  if (setting) {
    if (!fs.existsSync(setting)) throw new CliNotFound(`the chorus.path setting points at ${setting}, which does not exist. Fix the setting (the \`chorus\` executable, or \`daemon/dist/cli.js\` of a built checkout), or clear it to use \`chorus\` from PATH, then run Chorus: Reconnect.`);
    // Inside VS Code process.execPath is Electron, which runs as plain Node with this variable.
    if (/\.[cm]?js$/.test(setting)) return { command: process.execPath, args: [setting], env: { ELECTRON_RUN_AS_NODE: '1' } };
    return { command: setting, args: [] };
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'chorus');
    if (fs.existsSync(candidate)) return { command: candidate, args: [] };
  }
  const searched = envPath.split(path.delimiter).filter(Boolean);
  const shown = searched.length ? `${searched.slice(0, 8).join(path.delimiter)}${searched.length > 8 ? `${path.delimiter}…` : ''}` : 'empty';
  throw new CliNotFound(
    `the \`chorus\` command was not found on PATH (the PATH VS Code's extensions see: ${shown}; VS Code takes it from your login shell, not from the terminal it was started in). If it is installed (\`command -v chorus\` in a terminal prints where), set the chorus.path setting to that file; otherwise install it (\`npm install -g\` of the package file, or in a Chorus checkout \`npm ci && npm run build\`, then \`npm link\` in its daemon folder) into a folder on your login PATH. Then run Chorus: Reconnect.`,
  );
}

/** What `chorus join --json` prints: the session/join result, the folder, and how long it took. */
export type CliJoinResult = P.ResultOf<typeof M.SessionJoin> & { root: string; seconds: number };

/**
 * Run `chorus join - <root> --json` with the code on its standard input (on its command line, any
 * local user could read the session's secret with `ps` while the join runs): the command line
 * checks the code before anything starts, and a join that fails removes the `.chorus/` folder and
 * the daemon it made. Rejects with the last line the CLI wrote to stderr (what went wrong, in its words).
 */
export function joinWithCli(cli: CliCommand, code: string, root: string): Promise<CliJoinResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cli.command, [...cli.args, 'join', '-', root, '--json'], { env: { ...process.env, ...cli.env } }, (error, stdout, stderr) => {
      if (error) {
        // Every line, in order: the reason comes first, then what the failed join undid. The CLI
        // says "chorus: …" on each; the person sees the whole after "Chorus: " already. One line,
        // as a notification shows it.
        const lines = stderr
          .split('\n')
          .map((l) => l.trim().replace(/^chorus: /, '').trim())
          .filter(Boolean);
        if (lines.length > 0) return reject(new Told(lines.join('; ')));
        // Nothing on stderr: it did not start, or died without a word (its error is for the log).
        const how = typeof error.code === 'number' ? `it ended with exit code ${error.code} and said nothing` : `it could not be started (${String(error.code ?? 'unknown error')})`;
        reject(new Told(`could not join: running ${cli.command} failed, ${how}. Check that the chorus.path setting (or \`chorus\` on PATH) is the chorus command, and try again.`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as CliJoinResult);
      } catch {
        reject(new Told(`chorus join ended without saying how the join went (its output was not what this extension reads: is chorus.path a different version of chorus?). Run \`chorus status\` in ${root} to see whether it joined.`));
      }
    });
    // A child that could not start has no stdin to write to: the callback above reports why.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(`${code}\n`);
  });
}

export interface DaemonEvents {
  /** Connected and initialized. */
  up(conn: MessageConnection, init: P.ResultOf<typeof M.Initialize>): void;
  /** The connection dropped (or could not be made); `why` is for the person. */
  down(why: string): void;
  /** The daemon was stopped with `chorus stop` (`why`, the CLI's words): no retry until `connect()`. */
  stopped(why: string): void;
  log(message: string): void;
}

/** One project's daemon connection, reconnecting on its own. */
export class DaemonConnection {
  private proc: ChildProcess | undefined;
  private conn: MessageConnection | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private generation = 0;
  /** Whether the person has been told the daemon went away (told once per outage). */
  private toldDown = false;
  /** The daemon was stopped with `chorus stop`: no automatic retry until `connect()` is called. */
  private stoppedByCommand = false;
  init: P.ResultOf<typeof M.Initialize> | undefined;

  constructor(
    readonly root: string,
    private readonly cli: () => CliCommand,
    private readonly delays: () => number[],
    private readonly events: DaemonEvents,
    private readonly clientVersion: string,
    /** Make `root` a project if it is not one, even inside another project (`chorus connect` alone refuses a folder inside one). */
    private readonly create = false,
  ) {}

  get connection(): MessageConnection | undefined {
    return this.init ? this.conn : undefined;
  }

  /**
   * Connect now (cancelling a scheduled retry). Resolves once initialized, rejects on failure.
   * `retry`: an automatic reconnect, which does not start a daemon stopped with `chorus stop`;
   * otherwise (the first connect, Chorus: Reconnect) it starts one as needed.
   */
  async connect(retry = false): Promise<MessageConnection> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!retry) this.stoppedByCommand = false;
    // A new generation first: closing the old connection must not count as losing this one.
    const gen = ++this.generation;
    this.teardown();
    const cli = this.cli();
    const proc = spawn(cli.command, [...cli.args, 'connect', ...(this.create ? ['--create'] : []), ...(retry ? ['--reconnect'] : []), this.root], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...cli.env },
    });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    this.conn = conn;
    /** Why this connection ended (the CLI's last words), once it has. */
    let ended: string | undefined;
    const lost = (why: string) => {
      if (gen !== this.generation) return;
      ended = why;
      this.generation++;
      this.init = undefined;
      this.teardown();
      this.lost(why);
    };
    const lastLine = () => stderr.trim().split('\n').pop()?.replace(/^chorus: /, '') || 'the daemon went away';
    proc.on('error', (e: NodeJS.ErrnoException) => lost(`could not start ${cli.command} (${e.code ?? 'error'}): check the chorus.path setting, or that \`chorus\` is on PATH`));
    proc.on('exit', (code) => {
      if (code !== M.ExitCodes.StoppedByCommand || gen !== this.generation) return lost(lastLine());
      ended = lastLine();
      this.generation++;
      this.init = undefined;
      this.teardown();
      this.stopped(ended);
    });
    // Its output ends a moment before the process does: its exit code says whether the daemon
    // was stopped with `chorus stop`, so wait for it (briefly: a process that lingers is lost).
    conn.onClose(() => {
      // Closed: nothing more can be sent on it (vscode-jsonrpc would throw), so it is no longer
      // the connection, though whether it was lost or stopped waits for the exit code.
      if (gen === this.generation) this.init = undefined;
      if (proc.exitCode !== null || proc.signalCode !== null) lost(lastLine());
      else setTimeout(() => lost(lastLine()), 1000);
    });
    conn.onError(([e]) => this.events.log(`connection error: ${e.message}`));
    conn.listen();
    let init: P.ResultOf<typeof M.Initialize>;
    try {
      init = await conn.sendRequest(M.Initialize.type, {
        protocolVersion: M.PROTOCOL_VERSION,
        clientInfo: { name: 'vscode', version: this.clientVersion },
        positionEncodings: ['utf-16'],
      });
    } catch (e) {
      // It ended before it answered: the CLI's last words say why, for the person.
      if (ended !== undefined && !isDaemonAnswer(e)) throw new Told(`could not reach the daemon for ${path.basename(this.root)}: ${ended}`);
      throw e;
    }
    if (gen !== this.generation) throw new Error('the connection was replaced');
    this.init = init;
    this.attempt = 0;
    this.toldDown = false;
    this.events.up(conn, init);
    return conn;
  }

  /** Try to connect; on failure schedule the next attempt. */
  private tryConnect(): void {
    this.connect(true).catch((e: unknown) => {
      this.events.log(`connecting: ${e instanceof Error ? e.message : String(e)}`);
      if (!this.timer && !this.disposed && !this.conn) this.schedule();
    });
  }

  private stopped(why: string): void {
    if (this.disposed) return;
    this.stoppedByCommand = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.toldDown = true; // told: a Chorus: Reconnect that then fails only logs it
    this.events.stopped(why);
  }

  private lost(why: string): void {
    if (this.disposed) return;
    const first = !this.toldDown;
    this.toldDown = true;
    if (first) this.events.down(why);
    else this.events.log(`still no daemon: ${why}`);
    this.schedule();
  }

  private schedule(): void {
    if (this.disposed || this.stoppedByCommand) return;
    clearTimeout(this.timer);
    const ds = this.delays();
    const delay = ds[Math.min(this.attempt, ds.length - 1)] ?? 1000;
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tryConnect();
    }, delay);
  }

  private teardown(): void {
    const conn = this.conn;
    const proc = this.proc;
    this.conn = undefined;
    this.proc = undefined;
    conn?.dispose();
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.stdin?.end();
      proc.kill('SIGTERM');
    }
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    clearTimeout(this.timer);
    this.teardown();
  }
}
