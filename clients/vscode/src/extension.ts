/**
 * Entry point: `activate` only wires VS Code events and commands to the modules that handle
 * them (connection, buffer sync, decorations, positions, status bar, commands).
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands.js';
import { StatusBar } from './status-bar.js';
import { startStateDump } from './test-state.js';
import { WorkspaceClient } from './workspace-client.js';

let workspaceClient: WorkspaceClient | undefined;

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
  const clients = new WorkspaceClient(vscode, { config, log, version, onState: (c) => status.update(c, vscode.window.activeTextEditor?.document) });
  workspaceClient = clients;
  const getClient = (create: boolean, explicit?: boolean) => clients.get(create, explicit);

  const sharedContext = () => {
    const editor = vscode.window.activeTextEditor;
    void vscode.commands.executeCommand('setContext', 'chorus.sharedEditor', !!(editor && clients.current?.sync.get(editor.document)));
  };

  context.subscriptions.push(
    output,
    status,
    ...registerCommands(vscode, { client: getClient, joinNewProject: (code) => clients.joinNewProject(code), reconnect: () => clients.reconnect(), projectName: () => clients.projectName(), config, log }),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      clients.current?.sync.track(doc);
      sharedContext();
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => void clients.current?.sync.untrack(doc)),
    // A rename in VS Code's explorer: the old document's close is no buffer/close (BufferSync.untrack).
    vscode.workspace.onWillRenameFiles((e) => clients.current?.sync.willRename(e.files)),
    // Ctrl+Shift+S in a shared editor: noted (typing as its dialog closes is the copy's), then VS Code's own Save As.
    vscode.commands.registerCommand('chorus.saveAs', () => {
      clients.current?.sync.saveAsBegins(vscode.window.activeTextEditor?.document);
      return vscode.commands.executeCommand('workbench.action.files.saveAs');
    }),
    // VS Code's Save As creates the new file first, while the source is the active editor.
    vscode.workspace.onWillCreateFiles((e) => clients.current?.sync.willCreate(e.files, vscode.window.activeTextEditor?.document)),
    // A save of a shared document writes the shared text (buffer/save, decision 222).
    vscode.workspace.onWillSaveTextDocument((e) => {
      const saving = clients.current?.sync.willSave(e.document);
      if (saving) e.waitUntil(saving);
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => clients.current?.sync.didSave(doc)),
    vscode.workspace.onDidChangeTextDocument((e) => clients.current?.onDidChangeText(e)),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      clients.current?.sync.selectionMoved(e.textEditor.document, e.selections, e.kind);
      clients.current?.onCursorMoved();
    }),
    vscode.window.onDidChangeTextEditorVisibleRanges(() => clients.current?.onCursorMoved()),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      sharedContext();
      clients.current?.onCursorMoved();
      status.update(clients.current, editor?.document);
    }),
    vscode.window.onDidChangeVisibleTextEditors(() => clients.current?.decorations.render()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('chorus.showNames')) clients.current?.decorations.render();
      // A chorus.path set after the command was missing connects now, without a window reload.
      if (e.affectsConfiguration('chorus.path')) void clients.pathChanged().then(() => sharedContext());
    }),
    clients,
  );
  status.update(undefined);
  // A folder inside a shared project connects at once.
  void getClient(false).then(() => {
    status.update(clients.current, vscode.window.activeTextEditor?.document);
    sharedContext();
  });
  // Editors opened before the connection was up get their context key once it is.
  const tick = setInterval(sharedContext, 1000);
  context.subscriptions.push({ dispose: () => clearInterval(tick) });
  const stateFile = process.env.CHORUS_VSCODE_STATE_FILE;
  if (stateFile) context.subscriptions.push(startStateDump(stateFile, () => clients.current, () => recent, vscode));
}

export function deactivate(): void {
  workspaceClient?.dispose();
  workspaceClient = undefined;
}
