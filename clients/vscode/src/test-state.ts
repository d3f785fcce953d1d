/**
 * For the end-to-end tests only: when CHORUS_VSCODE_STATE_FILE is set, the extension writes what
 * each shared document holds (text, status, counters) to that file every 100 ms, so a test can
 * read VS Code's buffers without scraping the screen. Off (and never loaded) otherwise.
 */
import fs from 'node:fs';
import type { ChorusClient } from './client.js';

export function startStateDump(file: string, client: () => ChorusClient | undefined, log: () => string[]): { dispose(): void } {
  let last = '';
  const timer = setInterval(() => {
    const c = client();
    const buffers = Object.fromEntries(
      (c?.sync.all() ?? []).map((b) => [b.path, { text: b.doc.getText(), status: b.status, dirty: b.doc.isDirty, editorRevision: b.editorRevision, daemonRevision: b.daemonRevision, dropped: b.dropped }]),
    );
    const state = JSON.stringify({ connected: !!c?.rpc, state: c?.state, peers: c ? [...c.presence.peers.values()].map((p) => p.name) : [], following: c?.following?.name ?? null, active: c?.activeView() ?? null, buffers, log: log() });
    if (state === last) return;
    last = state;
    fs.writeFileSync(file + '.tmp', state);
    fs.renameSync(file + '.tmp', file);
  }, 100);
  return { dispose: () => clearInterval(timer) };
}
