/**
 * Fault s53b-3: VS Code with `files.autoSave` on, the person does Replace All (Ctrl+H) of a token
 * on many lines while a peer types into the same file (a scripted editor on the other daemon,
 * ~10 keys/s, not waiting for answers). On the old code VS Code showed "Failed to save '…': The
 * content of the file is newer", and its Overwrite erased the peer's characters that VS Code had
 * not been sent yet from the shared text, on every member.
 *
 * The save error itself can still come when the person's own edit (here the Replace All) lands
 * between the extension's part of the save and VS Code's write (1 run in 10 with the fix; 2 in 3
 * before), so by default it is counted and printed, not asserted; CHORUS_F3_STRICT=1 asserts it.
 * What is asserted: every character the peer typed is there, the same everywhere (before the
 * fix, choosing Overwrite lost some in 1 run of 3).
 *
 * CHORUS_F3_RUNS (default 2), CHORUS_F3_DELAY (files.autoSaveDelay, default 100: VS Code's
 * timer starts again at each change, so with a longer delay than the peer's keys it hardly ever
 * saves) and CHORUS_F3_LINES (default 400) vary the scene; each run uses a file of its own.
 * CHORUS_F3_LOGS=dir keeps, per run, VS Code's events, the extension's log and both daemons'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { Scene } from '../neovim/support.js';
import { buildVsix, VsCode, vscodeSkipReason, waitFor } from './support.js';

const skip = vscodeSkipReason();
const RUNS = Number(process.env.CHORUS_F3_RUNS ?? 2);
const DELAY = Number(process.env.CHORUS_F3_DELAY ?? 100);
const LINES = Number(process.env.CHORUS_F3_LINES ?? 400);
const KEYS = 'the quick brown fox jumps over the lazy dog 0123456789 and again';

const fileText = Array.from({ length: LINES }, (_, i) => `line ${i} calls oldName(${i}) and more text here\n`).join('');
const files = Object.fromEntries(Array.from({ length: RUNS }, (_, i) => [`run${i}.txt`, `BOB:\n${fileText}`]));

describe.skipIf(skip)('VS Code auto-save after Replace All while a peer types', () => {
  const scene = new Scene();
  let vs: VsCode;
  let a: string;
  let b: string;
  const peers: ScriptedEditor[] = [];
  const results: string[] = [];

  beforeAll(async () => {
    buildVsix();
    ({ a, b } = scene.pair(files));
    vs = await VsCode.start(a, { 'files.autoSave': 'afterDelay', 'files.autoSaveDelay': DELAY });
  }, 240_000);

  afterAll(async () => {
    console.log(`autosave delay ${DELAY} ms, ${LINES} lines:\n${results.join('\n')}`);
    for (const p of peers) p.close();
    await vs?.close();
    await scene.cleanup();
  }, 60_000);

  /** Ctrl+H, the token, its replacement, Replace All (Ctrl+Alt+Enter). */
  async function replaceAll(): Promise<void> {
    await vs.page.keyboard.press('Control+h');
    await vs.page.locator('.find-widget .find-part textarea, .find-widget .find-part input').first().waitFor({ state: 'visible' });
    await vs.page.keyboard.type('oldName');
    await vs.page.locator('.find-widget .replace-part textarea, .find-widget .replace-part input').first().click();
    await vs.page.keyboard.press('Control+a');
    await vs.page.keyboard.type('newFunctionName');
    await vs.page.keyboard.press('Control+Alt+Enter');
    await vs.page.keyboard.press('Escape');
  }

  for (let run = 0; run < RUNS; run++) {
    it(`run ${run}: every key the peer typed is there, the same everywhere (and VS Code's saves go through)`, async () => {
      const file = `run${run}.txt`;
      const { editor: ed } = ScriptedEditor.connect(b, { name: 'Bob' });
      peers.push(ed);
      await ed.init();
      await ed.open(file);
      await vs.open(file);
      // The peer types at the end of its first line, ~10 keys/s, never waiting for answers.
      let typed = 0;
      // What VS Code and the extension said about saves meanwhile (their state dump keeps the newest only).
      const seen = new Set<string>();
      const watch = setInterval(() => {
        const st = vs.state();
        for (const l of [...(st?.events ?? []), ...(st?.log ?? [])]) if (l.includes(file)) seen.add(l.slice(0, 200));
      }, 50);
      const typing = (async () => {
        for (const ch of KEYS) {
          const at = ed.text(file).indexOf('\n');
          void ed.edit(file, at, at, ch).catch(() => undefined);
          typed++;
          await new Promise((r) => setTimeout(r, 70 + Math.random() * 60));
        }
      })();
      await new Promise((r) => setTimeout(r, 1200));
      // Replace All of a token on every line (CHORUS_F3_REPLACE=0: none, the peer's typing only).
      const replace = process.env.CHORUS_F3_REPLACE !== '0';
      if (replace) await replaceAll();
      // Watch for VS Code's save error
      // while the peer goes on typing; choose Overwrite, as the trial's person did.
      let newer = 0;
      const overwrite = vs.page.locator('.notifications-toasts .notification-list-item:has-text("newer") a.monaco-button:has-text("Overwrite")');
      while (typed < KEYS.length) {
        if ((await overwrite.count()) > 0) {
          newer++;
          await overwrite.first().click().catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await typing;
      await new Promise((r) => setTimeout(r, 1500));
      if ((await overwrite.count()) > 0) {
        newer++;
        await overwrite.first().click().catch(() => undefined);
      }
      await vs.page.keyboard.press('Control+s');
      const want = `BOB:${KEYS}\n${replace ? fileText.replaceAll('oldName', 'newFunctionName') : fileText}`;
      let texts: string[] = [];
      try {
        await waitFor(`${file} identical everywhere`, () => {
          texts = [vs.text(file) ?? '', ed.text(file), fs.readFileSync(path.join(a, file), 'utf8'), fs.readFileSync(path.join(b, file), 'utf8')];
          return texts.every((t) => t === texts[0]) && !(vs.state()?.buffers[file]?.dirty ?? true);
        }, 15000);
      } catch {
        // reported below
      }
      const first = texts[0]!.split('\n')[0]!;
      const lost = `BOB:${KEYS}`.length - first.length;
      clearInterval(watch);
      const saves = [...seen].filter((l) => / saved /.test(l)).length;
      const said = [...seen].filter((l) => !/^\S+ (saved|change|open|active) /.test(l));
      if (process.env.CHORUS_F3_LOGS) {
        const daemonLog = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes(file));
        fs.mkdirSync(process.env.CHORUS_F3_LOGS, { recursive: true });
        fs.writeFileSync(path.join(process.env.CHORUS_F3_LOGS, `d${DELAY}-run${run}.txt`), ['# VS Code events and extension log', ...[...seen].sort(), '# daemon A', ...daemonLog(a), '# daemon B', ...daemonLog(b)].join('\n'));
      }
      results.push(`run ${run}: "newer" shown ${newer}×; ${saves} saves; peer's line at A's VS Code: ${JSON.stringify(first)} (${lost} lost); same everywhere: ${texts.every((t) => t === texts[0])}; extension: ${JSON.stringify(said.slice(-8))}`);
      if (process.env.CHORUS_F3_STRICT) expect(newer, 'the "content of the file is newer" save error').toBe(0);
      expect(texts.every((t) => t === texts[0]), 'the same text everywhere').toBe(true);
      expect(texts[0]).toBe(want);
    }, 120_000);
  }
});
