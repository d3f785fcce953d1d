/**
 * Trial s56b P1: a new file made by one Emacs command — `find-file-noselect' of a path that does
 * not exist, `insert', `save-buffer', within milliseconds, as a capture template or a command
 * that writes a note does — left an empty `name (conflict xxxxxx).md' in every folder, and told
 * "was made twice on this machine at once" here and "created on two peers at once" to peers
 * (8 of 19 such files). The save came while the buffer's open was still unanswered, so Emacs
 * wrote the file itself, racing the daemon's open, which made the file from the empty buffer.
 * Now a save while the open is unanswered waits for it, and the daemon writes the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../neovim/support.js';
import { elisp, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

describe.skipIf(skip)('a new file Emacs makes and saves in one command', () => {
  let scene: EmacsScene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });

  it('is shared once, with its text, and no conflict is made or told', async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'first.md': 'first\n' });
    const e = await scene.emacs();
    await e.edit(path.join(dir, 'first.md'));
    const names = Array.from({ length: 8 }, (_, i) => `note-${i}.md`);
    for (const name of names) {
      await e.command(`(with-current-buffer (find-file-noselect ${elisp(path.join(dir, name))})
        (insert ${elisp(`notes of ${name}\n`)})
        (save-buffer))`);
    }
    const client = await scene.client(dir);
    await waitFor('every note in the folder and in the session', async () => {
      for (const n of names) {
        if (!fs.existsSync(path.join(dir, n)) || fs.readFileSync(path.join(dir, n), 'utf8') !== `notes of ${n}\n`) return false;
        if ((await client.text(n).catch(() => '')) !== `notes of ${n}\n`) return false;
      }
      return true;
    }, 30000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(fs.readdirSync(dir).filter((f) => f !== '.chorus').sort()).toEqual(['first.md', ...names].sort());
    for (const n of names) expect(fs.readFileSync(path.join(dir, n), 'utf8')).toBe(`notes of ${n}\n`);
    const said = (await e.messages()).filter((m) => /conflict|twice|at once/.test(m));
    expect(said, said.join(" | ")).toEqual([]);
    expect(fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8')).not.toMatch(/created here and by a peer at once|conflict/);
  }, 120_000);
});
