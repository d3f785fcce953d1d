// Trial s53 (F1): typing into a 300 KB file while another tool rewrote it (a lockfile regenerated,
// 902 values changed) was held for minutes. The editor had edits in flight when the rewrite
// reached it, so it dropped the rewrite (the revision rule), and every edit it sent after was
// answered with the rewrite again, turned into 1,800 editor changes by a scan of the text from
// its start for each: 2.5 s per keystroke, and the typing fell minutes behind. Now the
// conversion is one pass over the text, the editor keeps up, and catches up once it pauses.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

let dir: string;
let daemon: Daemon;
let editor: ScriptedEditor | undefined;

/** A lockfile-like JSON of ~300 KB with 902 "version" values, and a line to type into. */
function lockfile(major: number): string {
  const packages: Record<string, unknown> = {};
  for (let i = 0; i < 902; i++) {
    packages[`node_modules/pkg-${i}`] = { version: `${major}.0.${i}`, resolved: `https://registry.npmjs.org/pkg-${i}/-/pkg-${i}-1.0.${i}.tgz`, integrity: `sha512-${'abcdefghijklmnop'.repeat(5)}${i}`, license: 'MIT' };
  }
  return JSON.stringify({ name: 'x', typing: '', lockfileVersion: 3, packages }, null, 2) + '\n';
}

beforeEach(async () => {
  dir = tempProject({ 'package-lock.json': lockfile(1) });
  daemon = await startDaemon(dir);
});

afterEach(async () => {
  editor?.close();
  await daemon.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('typing into a large file while a tool rewrites it on disk: every keystroke lands, the editor keeps up, and it ends with the rewrite and its typing', async () => {
  const file = 'package-lock.json';
  editor = await ScriptedEditor.socket(daemon.project.socketPath);
  await editor.init();
  await editor.open(file);
  const sent: Array<Promise<null>> = [];
  const tokens: string[] = [];
  for (let i = 0; i < 140; i++) {
    // The line `"typing": "…"`, at the end of its value; the editor's own text says where that is now.
    const text = editor.text(file);
    const at = text.indexOf('"typing": "') + '"typing": "'.length;
    const token = `k${i} `;
    tokens.push(token);
    sent.push(editor.edit(file, at, at, token)); // pipelined: not awaited, as an editor types
    await new Promise((r) => setTimeout(r, 20));
    if (i === 20) {
      // The tool reads the file as it is on disk and writes it back with every version changed.
      const disk = fs.readFileSync(path.join(dir, file), 'utf8');
      fs.writeFileSync(path.join(dir, file), disk.replace(/"version": "1\.0\./g, '"version": "2.0.'));
    }
  }
  await Promise.all(sent);
  const id = daemon.workspace.index.idOf(file)!;
  await editor.waitFor(() => editor!.text(file) === daemon.workspace.text(id), "the editor's text to catch up with the daemon's", 60_000);
  const text = daemon.workspace.text(id);
  expect(text).toContain(`"typing": "${tokens.slice().reverse().join('')}`);
  expect(text.match(/"version": "2\.0\./g)?.length).toBe(902);
  expect(text).not.toContain('"version": "1.0.');
}, 120_000);
