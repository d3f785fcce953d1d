// A page joining a file with a long history (5,000 changes or more) gets it as one saved
// document (a `snapshot` message, replicator.ts SNAPSHOT_MIN_CHANGES), which the page checks
// before loading (sync/snapshot-check.ts, decision 192): Automerge compresses a saved document's
// long columns, so the check must inflate them in the browser too. A check that could not (it
// used node:zlib, absent in a page) refused every such document, and the page took the history
// change by change instead: the same text, thousands of messages later.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, editorText, hook, openFile, Scene, until } from './support.js';

const skip = browserSkipReason();
/** One more than replicator.ts's SNAPSHOT_MIN_CHANGES: the history is sent whole. */
const CHANGES = 5_001;

describe.skipIf(skip)('a page joining a long history', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  const editors: ScriptedEditor[] = [];
  afterEach(async () => {
    for (const e of editors.splice(0)) e.close();
    await scene.cleanup();
  });

  it('takes the file as one saved document, checked in the page, and shows it', async () => {
    const { url, dir } = scene.share({ 'h.txt': '' });
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('h.txt');
    // One change per edit: each is answered (stored) before the next is sent.
    let want = '';
    for (let i = 0; i < CHANGES; i++) {
      const ch = i % 61 === 60 ? '\n' : String.fromCharCode(97 + (i % 26));
      await editor.edit('h.txt', want.length, want.length, ch);
      want += ch;
    }
    const page = await scene.open(url);
    await openFile(page, 'h.txt');
    // The editor renders only the lines in view (CodeMirror): the whole text is the page's own.
    await until('the long file in the page', async () => (await hook(page, 'open', 'h.txt')).text === want, 60_000);
    const shown = await editorText(page, 'h.txt');
    expect(shown.length).toBeGreaterThan(100);
    expect(want.startsWith(shown)).toBe(true);
    const log = scene.logs.get(page)!.lines;
    expect(log.filter((l) => /refused|dropped/.test(l))).toEqual([]);
    // It came as one saved document, not change by change (the page says so in its log).
    expect(log.filter((l) => /took f[0-9a-f]+ from peer [0-9a-f]+ as one saved document/.test(l))).toHaveLength(1);
  }, 180_000);
});
