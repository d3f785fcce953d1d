#!/usr/bin/env node
/** The `chorus` command: parses options and hands over; no logic lives here. */
import { Command } from 'commander';
import * as commands from './commands.js';
import { VERSION } from './version.js';

const program = new Command('chorus')
  .description('Edit one project together, live, each in your own editor.')
  .version(VERSION)
  .showHelpAfterError();

program
  .command('daemon [dir]')
  .description('run the daemon for a project folder in the foreground (logs to stderr; stops on Ctrl-C)')
  .option('--name <name>', 'your name as others see it (default: git user.name, else your login)')
  .action((dir: string | undefined, opts: { name?: string }) => commands.daemon(dir, opts));

program
  .command('connect [dir]')
  .description('bridge stdin/stdout to the daemon of a project (starting it if needed), for editors that spawn a process')
  .action((dir: string | undefined) => commands.connect(dir));

program
  .command('status [dir]')
  .description("show the daemon's project, buffers, editors and peers")
  .option('--json', 'print one JSON object')
  .action((dir: string | undefined, opts: { json?: boolean }) => commands.status(dir, opts));

program
  .command('stop [dir]')
  .description('stop the daemon of a project (its files are written first)')
  .action((dir: string | undefined) => commands.stop(dir));

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`chorus: ${(e as Error).message}\n`);
  process.exit(1);
});
