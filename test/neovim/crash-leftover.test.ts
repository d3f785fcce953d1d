/**
 * Pins a user trial's lost keystroke (helper-95's F5, helper-96): B typed in a file; A's daemon
 * recorded the write of B's typing in its ledger and was killed before the write's rename put it
 * in the folder (the trial held the rename with strace), and A's Neovim with it. A fresh Neovim
 * on A opened the file at once, its plugin starting the daemon again (`chorus connect`). The
 * plugin's first buffer/open sends the buffer read from the file as both `content` and `base`;
 * the folder holding that text, the open takes the folder in first (EditorBuffers.open), before
 * the start's own take-in. That take-in (not the start's) took the folder's older content for a
 * person's change, diffed it from the newest text the ledger named, and deleted B's typing from
 * every buffer and disk. Decision 206 made such a crash's leftover the daemon's own in any take-in
 * until this run writes the file; this test shows the trial's loss gone (it fails before 206).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonsFor } from '../support/cli.js';
import { converged, neovimSkipReason, Nvim, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

/** The hashes the ledger of project `dir` recorded for `file`, oldest first. */
function ledgerHashes(dir: string, file: string): string[] {
  const lines = fs.readFileSync(path.join(dir, '.chorus', 'disk', 'ledger.jsonl'), 'utf8').split('\n').filter(Boolean);
  const out: string[] = [];
  for (const l of lines) {
    const r = JSON.parse(l) as { p: string; h?: string };
    if (r.p === file && r.h !== undefined && out.at(-1) !== r.h) out.push(r.h);
  }
  return out;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.skipIf(skip)('Neovim opening a file right after its daemon was killed mid-write', () => {
  let scene: Scene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });

  it("keeps a peer's typing whose write the killed daemon recorded but never made", async () => {
    scene = new Scene();
    const file = 'src/f.txt';
    const { a, b } = scene.pair({ [file]: 'one\ntwo\n' });
    const nb = await scene.nvim();
    await nb.edit(path.join(b, file));
    const before = 'one\ntwo\nthree\n';
    await nb.input('Gothree<Esc>');
    await waitFor("A's folder to have B's first line", () => fs.readFileSync(path.join(a, file), 'utf8') === before);
    const typed = 'one\ntwo\nthree\nZZZ\n';
    // One change (one buffer/edit), so A writes it in one write: typed key by key over a loaded
    // machine, a part of it may be written first, and the folder's older content would be that.
    await nb.command("call append('$', 'ZZZ')");
    await nb.settled();
    await waitFor("A's folder to have B's typing", () => fs.readFileSync(path.join(a, file), 'utf8') === typed);
    // The ledger as a crash between recording a write and its rename leaves it: the typing's
    // content newest, the one the folder held before it just below.
    await waitFor("A's ledger to name B's typing", () => ledgerHashes(a, file).at(-1) === sha(typed));
    expect(ledgerHashes(a, file).slice(-2), 'the setup: one write per line typed').toEqual([sha(before), sha(typed)]);

    const pids = daemonsFor(a);
    expect(pids.length).toBe(1);
    process.kill(pids[0]!, 'SIGKILL');
    await waitFor("A's daemon to be gone", () => daemonsFor(a).length === 0);
    // The rename never happened: the folder still holds what it held before the typing's write.
    fs.writeFileSync(path.join(a, file), before);

    // A fresh Neovim on A opens the file at once; its plugin starts the daemon. The start's
    // take-in is held after reading the folder (test-only), so the open's own take-in surely
    // comes first, as it did in the trial (72 ms after "serving", the scan still reading).
    const na = await Nvim.start({}, undefined, { CHORUS_TEST_TAKE_IN_HOLD_MS: '3000' });
    scene.nvims.push(na);
    await na.edit(path.join(a, file));
    const client = await scene.client(a);
    expect(await converged([na, nb], client, [a, b], file)).toBe(typed);
    // And it stays so once the held start take-in has run.
    const log = () => fs.readFileSync(path.join(a, '.chorus', 'daemon.log'), 'utf8');
    await waitFor("A's held start take-in", () => (log().split(' serving ').at(-1)?.match(/took in \d+ files? from the folder/g) ?? []).length > 0);
    expect(await converged([na, nb], client, [a, b], file)).toBe(typed);
  }, 120000);
});
