#!/usr/bin/env node
/** The `chorus` command: parses options and hands over; no logic lives here. */
import { Command, InvalidArgumentError } from 'commander';
import type * as Commands from './commands.js';

/** Commands load on use: `chorus --help` and `chorus connect` stay quick (no CRDT, no WebRTC). */
const commands = () => import('./commands.js');
import { VERSION } from './version.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
}

/** `--name` on every command that starts a daemon (daemon, share, join): one wording, one check (commands.ts checkedName). */
const NAME_FLAG = '--name <name>';
const NAME_HELP = 'your name as others see it, kept for this project (default: the one kept, else git user.name, else your login)';

const program = new Command('chorus')
  .description('Edit one project together, live, each in your own editor.')
  .version(VERSION)
  .showHelpAfterError();

program
  .command('daemon [dir]')
  .description('run the daemon for a project folder in the foreground (logs to stderr; stops on Ctrl-C)')
  .option(NAME_FLAG, NAME_HELP)
  .option('--view', 'for `chorus join --no-disk`: never read or watch the folder (view mode)')
  .action(async (dir: string | undefined, opts: { name?: string; view?: boolean }) => (await commands()).daemon(dir, opts));

program
  .command('share [dir]')
  .description('share a project folder: prints a join code for others (starts the daemon if needed)')
  .option('--json', 'print one JSON line with a `code` field')
  .option('--host <host>', 'address to listen on for peers (default: all interfaces)')
  .option('--port <port>', 'port to listen on for peers (default: any free port)', parsePort)
  .option('--relay <url>', 'a relay (ws://host:port from `chorus relay`) for peers that cannot reach you directly')
  .option('--read-only', 'guests joining with this code can read but not edit')
  .option('--no-webrtc', 'keep links on WebSocket (or the relay); never upgrade to WebRTC')
  .option(NAME_FLAG, NAME_HELP)
  .action(async (dir: string | undefined, opts: Commands.ShareFlags) => (await commands()).share(dir, opts));

program
  .command('join <code> [dir]')
  .description('join a shared project into a folder (default: the current one); returns when the first sync is done. Give - as the code to read it from standard input, which other local users cannot see (a command line they can, with ps)')
  .option('--json', 'print one JSON line with the result')
  .option('--no-disk', 'view mode: nothing is written to the folder; files live in your editors only')
  .option('--host <host>', 'address to listen on for other peers (default: all interfaces)')
  .option('--port <port>', 'port to listen on for other peers (default: any free port)', parsePort)
  .option('--no-webrtc', 'keep links on WebSocket (or the relay); never upgrade to WebRTC')
  .option(NAME_FLAG, NAME_HELP)
  .action(async (code: string, dir: string | undefined, opts: Commands.JoinFlags) => (await commands()).join(code, dir, opts));

program
  .command('relay')
  .description('run a relay that introduces peers and forwards their (end-to-end encrypted) traffic')
  .option('--host <host>', 'address to listen on', '0.0.0.0')
  .option('--port <port>', 'port to listen on', parsePort, 7420)
  .action(async (opts: { host: string; port: number }) => (await commands()).relay(opts));

program
  .command('connect [dir]')
  .description('bridge stdin/stdout to the daemon of a project (starting it if needed), for editors that spawn a process; a folder with no project becomes one; a folder inside a project is refused (connect to that project)')
  .option('--create', 'make the folder a Chorus project even inside another project (an editor sharing a new folder there)')
  .option('--reconnect', 'an editor reconnecting on its own: do not start a daemon that was stopped with `chorus stop` (exit code 5 instead)')
  .action(async (dir: string | undefined, opts: { create?: boolean; reconnect?: boolean }) => (await commands()).connect(dir, opts));

program
  .command('lsp')
  .description('run a language server on stdio for any editor with an LSP client (joins the daemon of the project, starting it if needed)')
  .option('--dir <dir>', 'the project folder, made a project if it is not one (default: the nearest folder with .chorus/ at or above the editor\'s folder; outside any project the server stays idle)')
  .action(async (opts: { dir?: string }) => void (await import('./lsp/server.js')).runLspServer({ dir: opts.dir }));

program
  .command('status [dir]')
  .description("show the daemon's project, buffers, editors and peers")
  .option('--json', 'print one JSON object')
  .action(async (dir: string | undefined, opts: { json?: boolean }) => (await commands()).status(dir, opts));

program
  .command('start [dir]')
  .description('start the daemon of a project in the background (as opening it in an editor does); it rejoins the project\'s session, if it has one')
  .action(async (dir: string | undefined) => (await commands()).start(dir));

program
  .command('stop [dir]')
  .description('stop the daemon of a project (its files are written first); editors attached to it stay disconnected until one is told to reconnect')
  .action(async (dir: string | undefined) => (await commands()).stop(dir));

// Every failure a person sees is worded for them (see lifecycle/human-error.ts), never a raw Node error.
program.parseAsync().catch(async (e: unknown) => {
  const { CliError, describeError } = await import('./lifecycle/human-error.js');
  const { escapeControls } = await import('./log-line.js');
  // Messages quote paths and names from outside: no escape sequence in them reaches the terminal.
  process.stderr.write(`chorus: ${describeError(e).split('\n').map(escapeControls).join('\n')}\n`);
  process.exit(e instanceof CliError ? e.exitCode : 1);
});
