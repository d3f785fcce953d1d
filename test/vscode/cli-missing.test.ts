/**
 * The VS Code extension when the `chorus` command is missing, against a fake of the vscode API
 * (fake-vscode.ts) and, once the chorus.path setting names the built CLI, a real daemon. Pins a
 * user trial: with `chorus` not on the extension host's PATH, the first message was clear; after
 * setting chorus.path, Chorus: Reconnect said "this workspace is not a shared project: run Chorus:
 * Share, or Chorus: Join…" of a folder with `.chorus/` and a running daemon (the lookup failed
 * without a word after the first warning, and the command took that for "not a project").
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { registerCommands } from '../../clients/vscode/src/commands.js';
import { WorkspaceClient } from '../../clients/vscode/src/workspace-client.js';
import { tempProject } from '../support/project-dir.js';
import { FakeUri, FakeVscode, flush } from './fake-vscode.js';

const cli = path.resolve('daemon/dist/cli.js');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    spawnSync(process.execPath, [cli, 'stop', d], { timeout: 30_000 });
    fs.rmSync(d, { recursive: true, force: true });
  }
});

it('Chorus: Reconnect says the chorus command is missing and where it looked, then connects once chorus.path names it, without a reload', async () => {
  const dir = tempProject({ 'a.txt': 'a\n' }, 'chorus-vscode-cli-');
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, '.chorus')); // a shared project's folder
  const fake = new FakeVscode();
  const commands = new Map<string, (...args: unknown[]) => Promise<void>>();
  const executed: unknown[][] = [];
  const vs = {
    ...fake.api,
    workspace: { ...fake.api.workspace, workspaceFolders: [{ uri: FakeUri.file(dir) }] },
    window: { ...(fake.api as any).window, visibleTextEditors: [] },
    commands: {
      registerCommand: (id: string, f: (...args: unknown[]) => Promise<void>) => {
        commands.set(id, f);
        return { dispose: () => commands.delete(id) };
      },
      executeCommand: (...args: unknown[]) => {
        executed.push(args);
        return Promise.resolve(undefined);
      },
    },
    env: { clipboard: { writeText: () => Promise.resolve() } },
  } as unknown as ConstructorParameters<typeof WorkspaceClient>[0] & Parameters<typeof registerCommands>[0];
  const settings: Record<string, unknown> = { path: path.join(dir, 'no-such-chorus') };
  const config = <T,>(key: string, fallback: T): T => (key in settings ? (settings[key] as T) : fallback);
  const clients = new WorkspaceClient(vs, { config, log: () => undefined, version: '0.1.0', onState: () => undefined });
  registerCommands(vs, { client: (create, explicit) => clients.get(create, explicit), joinNewProject: (code) => clients.joinNewProject(code), reconnect: () => clients.reconnect(), projectName: () => clients.projectName(), config, log: () => undefined });
  try {
    // The window opens: told once that the command is missing.
    expect(await clients.get(false)).toBeUndefined();
    expect(fake.shown.map((s) => s.message)).toEqual([`Chorus: the chorus.path setting points at ${settings.path as string}, which does not exist. Fix the setting (the \`chorus\` executable, or \`daemon/dist/cli.js\` of a built checkout), or clear it to use \`chorus\` from PATH, then run Chorus: Reconnect.`]);
    // The person sets chorus.path to another place that is wrong too, and runs Chorus: Reconnect:
    // told the real cause, naming the path tried, not that the folder is not a project.
    settings.path = path.join(dir, 'still-not-chorus');
    fake.shown.length = 0;
    await commands.get('chorus.reconnect')!();
    await flush();
    expect(fake.shown.map((s) => s.message)).toEqual([expect.stringContaining(`the chorus.path setting points at ${settings.path as string}, which does not exist`)]);
    expect(fake.shown.map((s) => s.message).join()).not.toMatch(/not a shared project/);
    // With the setting unset and nothing on PATH, the message names the PATH it searched.
    delete settings.path;
    const PATH = process.env.PATH;
    process.env.PATH = '/nowhere/bin';
    fake.shown.length = 0;
    try {
      await commands.get('chorus.reconnect')!();
      await flush();
    } finally {
      process.env.PATH = PATH;
    }
    // The advice fits a package install too (trial s56a, I1: a `chorus` installed with `npm install
    // -g` of the package file was told to build a checkout): where to find it, and the login PATH.
    expect(fake.shown.map((s) => s.message)).toEqual([expect.stringMatching(/^Chorus: the `chorus` command was not found on PATH \(the PATH VS Code's extensions see: \/nowhere\/bin; VS Code takes it from your login shell, not from the terminal it was started in\)\. If it is installed \(`command -v chorus` in a terminal prints where\), set the chorus\.path setting to that file; otherwise install it \(`npm install -g` of the package file, .*\) into a folder on your login PATH\. Then run Chorus: Reconnect\.$/)]);
    // The setting now names the built CLI: the change itself connects (extension.ts calls
    // pathChanged when chorus.path changes), no reload needed; Reconnect then connects anew.
    settings.path = cli;
    fake.shown.length = 0;
    await clients.pathChanged();
    expect(clients.current?.rpc).toBeDefined();
    const c = await clients.reconnect();
    expect(c).toBe(clients.current);
    expect(c?.rpc).toBeDefined();
    expect(fake.shown.filter((s) => s.level === 'error')).toEqual([]);
  } finally {
    clients.dispose();
  }
}, 120_000);
