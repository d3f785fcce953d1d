/**
 * For the end-to-end tests only: when CHORUS_VSCODE_STATE_FILE is set, the extension writes what
 * each shared document holds (text, status, counters) to that file every 100 ms, so a test can
 * read VS Code's buffers without scraping the screen. Off (and never loaded) otherwise.
 *
 * It also keeps the last EVENTS of VS Code's own document and editor events (`events`), as VS
 * Code reported them: a failing test can then say whether a key it typed ever reached a document,
 * which one, and what changed it after (a key typed right after a rename or a Save As was missing
 * everywhere once each, with nothing in the extension's log to tell where it went).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChorusClient } from './client.js';
import type { Vscode } from './vscode-api.js';

/** How many of VS Code's events the dump keeps (the newest). */
const EVENTS = 60;

export function startStateDump(file: string, client: () => ChorusClient | undefined, log: () => string[], vs: Vscode): { dispose(): void } {
  let last = '';
  const events: string[] = [];
  const note = (what: string) => {
    events.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
    if (events.length > EVENTS) events.shift();
  };
  const name = (uri: { scheme: string; fsPath: string }) => (uri.scheme === 'file' ? path.basename(uri.fsPath) : uri.scheme);
  const subscriptions = [
    vs.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length === 0) return;
      const changes = e.contentChanges.map((c) => [c.rangeOffset, c.rangeLength, c.text]);
      note(`change ${name(e.document.uri)} v${e.document.version}${e.document.isDirty ? ' dirty' : ''}${e.reason === undefined ? '' : ` reason ${e.reason}`} ${JSON.stringify(changes)}`);
    }),
    vs.workspace.onDidOpenTextDocument((d) => note(`open ${name(d.uri)} v${d.version}`)),
    vs.workspace.onDidCloseTextDocument((d) => note(`close ${name(d.uri)}`)),
    vs.workspace.onDidSaveTextDocument((d) => note(`saved ${name(d.uri)} v${d.version}`)),
    vs.window.onDidChangeActiveTextEditor((ed) => note(`active ${ed ? name(ed.document.uri) : 'none'}`)),
    vs.window.onDidChangeWindowState((w) => note(`window ${w.focused ? 'focused' : 'not focused'}`)),
  ];
  const timer = setInterval(() => {
    const c = client();
    const buffers = Object.fromEntries(
      (c?.sync.all() ?? []).map((b) => [b.path, { text: b.doc.getText(), status: b.status, dirty: b.doc.isDirty, editorRevision: b.editorRevision, daemonRevision: b.daemonRevision, dropped: b.dropped }]),
    );
    // Every text tab, by file: a test can see a tab left on a renamed file's gone path.
    const tabs = vs.window.tabGroups.all.flatMap((g) =>
      g.tabs.flatMap((t) => (t.input instanceof vs.TabInputText ? [{ file: t.input.uri.fsPath, group: g.viewColumn, active: t.isActive, dirty: t.isDirty }] : [])),
    );
    const state = JSON.stringify({ connected: !!c?.rpc, state: c?.state, peers: c ? [...c.presence.peers.values()].map((p) => p.name) : [], following: c?.following?.name ?? null, active: c?.activeView() ?? null, buffers, tabs, log: log(), events });
    if (state === last) return;
    last = state;
    fs.writeFileSync(file + '.tmp', state);
    fs.renameSync(file + '.tmp', file);
  }, 100);
  return {
    dispose: () => {
      clearInterval(timer);
      for (const s of subscriptions) s.dispose();
    },
  };
}
