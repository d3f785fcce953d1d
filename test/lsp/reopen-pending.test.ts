/**
 * `chorus lsp`'s re-open after losing the daemon (daemon/src/lsp/document-sync.ts,
 * `reopenParams`), against real daemons: an edit the daemon applied and saved but never
 * answered goes with the re-open as `pending`, so it is not merged a second time. The bridge's
 * connection is played by a scripted one here, which lets the test keep an answer that really
 * arrived from the document, as a connection that went at that moment would.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DocumentSync, type SyncPort } from '../../daemon/src/lsp/document-sync.js';
import { CLI } from '../support/paths.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0).reverse()) f();
});

function project(files: Record<string, string>): string {
  const dir = tempProject(files, 'chorus-lsp-pending-');
  fs.mkdirSync(path.join(dir, '.chorus')); // a project: `chorus connect` makes none
  cleanups.push(() => {
    execFileSync(process.execPath, [CLI, 'stop', dir], { stdio: 'ignore', timeout: 20000 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

async function editor(dir: string): Promise<ScriptedEditor> {
  const { editor: e } = ScriptedEditor.connect(dir);
  cleanups.push(() => e.close());
  await e.init();
  return e;
}

/** A port that sends to `link.e` while set; the answers are noted in `answered`, never handed over. */
function portTo(link: { e: ScriptedEditor | undefined }, answered: string[], lost: Array<() => void>): SyncPort {
  return {
    edit: (revision, changes, id) => {
      const e = link.e;
      if (!e) return undefined;
      return new Promise<boolean>((resolve) => {
        lost.push(() => resolve(false));
        void e.raw('buffer/edit', { path: 'a.txt', revision, changes, id }).then(() => {
          answered.push(id);
        });
      });
    },
    caret: () => undefined,
    applyEdit: async () => true,
    outOfStep: (m) => {
      throw new Error(m);
    },
  };
}

const at = (line: number, character: number) => ({ line, character });

/**
 * A project with a.txt "start\n" on a real daemon, a document on it, and `typed` inserted at 0:5
 * and sent: the daemon has answered (the edit is in its log on disk, what survives a SIGKILL),
 * the document has not been told. `kill` SIGKILLs the daemon and fails the unanswered requests,
 * as the bridge's connection going away does.
 */
async function typedUnanswered(typed: string) {
  const dir = project({ 'a.txt': 'start\n' });
  const first = await editor(dir);
  const text = await first.open('a.txt');
  const link = { e: first as ScriptedEditor | undefined };
  const answered: string[] = [];
  const lost: Array<() => void> = [];
  const doc = new DocumentSync('a.txt', 'file:///a.txt', 'utf-16', text, 1, text, portTo(link, answered, lost));
  doc.start();
  doc.clientChanged([{ range: { start: at(0, 5), end: at(0, 5) }, text: typed }], 2);
  await first.waitFor(() => answered.length === 1, 'the answer to the edit');
  const kill = () => {
    const pid = JSON.parse(execFileSync(process.execPath, [CLI, 'status', dir, '--json'], { encoding: 'utf8' })).pid as number;
    process.kill(pid, 'SIGKILL');
    link.e = undefined;
    for (const f of lost.splice(0)) f();
  };
  return { dir, first, doc, answered, kill };
}

describe('chorus lsp re-opening after the daemon went away', () => {
  it('does not apply an edit twice that the daemon saved but never answered', async () => {
    // Pins the double-applied edit (a typed "r" came back as "...endr"): merged from `base`
    // alone, the re-open applied the unanswered (but saved) edit a second time.
    const { dir, doc, answered, kill } = await typedUnanswered('r');
    kill();
    doc.clientChanged([{ range: { start: at(0, 6), end: at(0, 6) }, text: ' end' }], 3); // typed meanwhile
    const second = await editor(dir);
    const params = doc.reopenParams();
    expect(params).toMatchObject({ text: 'startr end\n', base: 'start\n', pending: [{ id: answered[0], text: 'startr\n' }] });
    const r = (await second.raw('buffer/open', { path: 'a.txt', content: params.text, base: params.base, pending: params.pending })) as { content: string };
    expect(r.content).toBe('startr end\n');
    doc.reopened(r.content);
    expect(doc.reopenParams()).toEqual({ text: 'startr end\n', base: 'startr end\n' });
    await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'startr end\n', 'a.txt on disk');
  }, 60000);

  it('a change from the daemon applied while edits are unanswered is the new base', async () => {
    // Pins a change from someone else merged a second time ("> > start!"): it was applied after
    // our unanswered edit, so merging from the text after that edit took it for ours. The
    // daemon counted every edit sent before its change (the revision rule): the text after the
    // change is in step, and nothing sent before it is pending.
    const { dir, first, doc, kill } = await typedUnanswered('!');
    const other = await editor(dir);
    await other.open('a.txt');
    await other.edit('a.txt', 0, 0, '> ');
    await first.waitFor(() => first.notes.some((n) => n.method === 'buffer/didChange'), 'the other edit');
    const change = first.notes.find((n) => n.method === 'buffer/didChange')!.params;
    doc.daemonChanged(change.revision, change.changes);
    expect(doc.reopenParams()).toEqual({ text: '> start!\n', base: '> start!\n' });
    kill();
    const second = await editor(dir);
    const params = doc.reopenParams();
    const r = (await second.raw('buffer/open', { path: 'a.txt', content: params.text, base: params.base, ...(params.pending ? { pending: params.pending } : {}) })) as { content: string };
    expect(r.content).toBe('> start!\n');
  }, 60000);
});
