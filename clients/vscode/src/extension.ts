/**
 * Entry point: `activate` only wires VS Code events and commands to the modules that handle
 * them (connection, buffer sync, decorations, positions, status bar, commands).
 */
import fs from 'node:fs';
import * as vscode from 'vscode';
import { ChorusClient } from './client.js';
import { registerCommands } from './commands.js';
import { CliNotFound, resolveCli } from './connection.js';
import { findProjectRoot } from './project.js';
import { StatusBar } from './status-bar.js';
import { startStateDump } from './test-state.js';

let client: ChorusClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Chorus');
  const config = <T>(key: string, fallback: T): T => vscode.workspace.getConfiguration('chorus').get<T>(key, fallback);
  const recent: string[] = [];
  const log = (m: string) => {
    if (!config('debug', false)) return;
    const line = `${new Date().toISOString()} ${m}`;
    output.appendLine(line);
    recent.push(line);
    if (recent.length > 100) recent.shift();
  };
  const status = new StatusBar(vscode);
  const version = String((context.extension.packageJSON as { version?: string }).version ?? '0');
  let cliWarned = false;

  /** The workspace's project client; `create` makes the first folder a project (Share, Join). */
  const getClient = async (create: boolean): Promise<ChorusClient | undefined> => {
    if (client) {
      if (!client.rpc) await client.daemon.connect().catch(() => undefined);
      return client;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!folder || folder.scheme !== 'file') {
      if (create) throw new Error('open a folder first: Chorus shares a folder');
      return undefined;
    }
    let root = findProjectRoot(folder.fsPath);
    if (!root && !create) return undefined;
    root = fs.realpathSync(root ?? folder.fsPath);
    const c = new ChorusClient(vscode, root, {
      cli: () => resolveCli(config('path', '')),
      delays: () => config('reconnectDelays', [250, 500, 1000, 2000, 5000]),
      showNames: () => config<string>('showNames', 'always') !== 'never',
      log,
      version,
      onState: () => status.update(client),
    });
    client = c;
    status.update(c);
    try {
      await c.start();
    } catch (e) {
      if (e instanceof CliNotFound) {
        c.dispose();
        client = undefined;
        status.update(undefined);
        if (!cliWarned || create) void vscode.window.showErrorMessage(`Chorus: ${e.message}`, 'Open Settings').then((a) => a && vscode.commands.executeCommand('workbench.action.openSettings', 'chorus.path'));
        cliWarned = true;
        return undefined;
      }
      // Anything else: the connection retries on its own.
      log(`first connect: ${e instanceof Error ? e.message : String(e)}`);
    }
    return c;
  };

  const sharedContext = () => {
    const editor = vscode.window.activeTextEditor;
    void vscode.commands.executeCommand('setContext', 'chorus.sharedEditor', !!(editor && client?.sync.get(editor.document)));
  };

  context.subscriptions.push(
    output,
    status,
    ...registerCommands(vscode, { client: getClient, config, log }),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      client?.sync.track(doc);
      sharedContext();
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => void client?.sync.untrack(doc)),
    vscode.workspace.onDidChangeTextDocument((e) => client?.onDidChangeText(e)),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      client?.sync.selectionMoved(e.textEditor.document, e.selections);
      client?.onCursorMoved();
    }),
    vscode.window.onDidChangeTextEditorVisibleRanges(() => client?.onCursorMoved()),
    vscode.window.onDidChangeActiveTextEditor(() => {
      sharedContext();
      client?.onCursorMoved();
    }),
    vscode.window.onDidChangeVisibleTextEditors(() => client?.decorations.render()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('chorus.showNames')) client?.decorations.render();
    }),
    { dispose: () => client?.dispose() },
  );
  status.update(undefined);
  // A folder inside a shared project connects at once.
  void getClient(false).then(() => {
    status.update(client);
    sharedContext();
  });
  // Editors opened before the connection was up get their context key once it is.
  const tick = setInterval(sharedContext, 1000);
  context.subscriptions.push({ dispose: () => clearInterval(tick) });
  const stateFile = process.env.CHORUS_VSCODE_STATE_FILE;
  if (stateFile) context.subscriptions.push(startStateDump(stateFile, () => client, () => recent));
}

export function deactivate(): void {
  client?.dispose();
  client = undefined;
}
