/**
 * A folder joined with a read-only code: an edit in Emacs stays in the buffer and, once saved, on
 * this machine's disk, and is not shared. The person is told so once for the buffer, in words
 * that say what happened (the change stays here) and what to do (ask for a writer's code).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, waitFor } from '../neovim/support.js';
import { elisp, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

describe.skipIf(skip)('Emacs client: a folder joined read-only', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('an edit and a save stay on this machine, and the buffer says so once, not once per edit or re-share', async () => {
    scene = new EmacsScene();
    const a = scene.project({ 'one.txt': 'shared\n' }, 'Ada');
    const b = scene.project({}, 'Bob');
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
    const { code } = JSON.parse(run('share', a, '--json', '--host', '127.0.0.1', '--read-only')) as { code: string };
    run('join', code, b, '--json', '--host', '127.0.0.1');
    const e = await scene.emacs();
    await e.edit(path.join(b, 'one.txt'));
    const told = async () => (await e.messages()).filter((m) => /read-only/.test(m));
    const pause = () => new Promise((r) => setTimeout(r, 1500));
    await e.type('f i r s t RET');
    await waitFor('the refusal', async () => (await told()).length > 0, 30000);
    await e.type('s e c o n d RET');
    await e.command('(save-buffer)');
    await pause();
    // Sharing the buffer again (as after turning chorus-mode off and on) meets the same refusal.
    await e.command('(progn (chorus-mode -1) (chorus-mode 1))');
    // The buffer, just saved, sends its text as `base`; the daemon must not answer with the
    // session's text over it (the file holds this person's own change): it refuses the open, and
    // the buffer keeps its text. It once took 'shared\n' when the answer came before the typing.
    await waitFor('the re-share refused', async () => (await e.status())?.status === 'failed', 30000);
    expect(await e.eval('(buffer-string)')).toBe('first\nsecond\nshared\n');
    await e.type('t h i r d RET');
    await e.command('(save-buffer)');
    await pause();
    const messages = await told();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/one\.txt/);
    expect(messages[0]).toMatch(/stays on this machine/);
    expect(messages[0]).toMatch(/writer's join code/);
    expect(messages[0]).not.toMatch(/was not made/);
    expect(fs.readFileSync(path.join(b, 'one.txt'), 'utf8')).toBe('first\nsecond\nthird\nshared\n');
    expect(fs.readFileSync(path.join(a, 'one.txt'), 'utf8')).toBe('shared\n');

    // (Same daemons, to keep the suite fast.) Bob's own new file, visited in Emacs (its open
    // refused: not shared), then Ada makes the same path: the daemon keeps Bob's text in
    // .chorus/kept and says so (session/notice, decision 184), shown as a warning, and the buffer
    // takes the session's text and follows it again. It was told nothing and kept Bob's text.
    fs.writeFileSync(path.join(b, 'newro.txt'), 'bob local\n');
    await e.eval(`(chorus-driver-visit ${elisp(path.join(b, 'newro.txt'))})`);
    await waitFor('the refused open', async () => (await e.status())?.status === 'failed');
    fs.writeFileSync(path.join(a, 'newro.txt'), 'ada writes\n');
    const warnings = () => e.eval<string | null>('(and (get-buffer "*Warnings*") (with-current-buffer "*Warnings*" (buffer-string)))');
    await waitFor('the warning', async () => /newro\.txt[^]*\.chorus\/kept\/newro\.txt\./.test((await warnings()) ?? ''), 60000);
    await waitFor("the buffer following Ada's newro.txt", async () => (await e.status())?.status === 'open' && (await e.eval('(buffer-string)')) === 'ada writes\n');
    fs.writeFileSync(path.join(a, 'newro.txt'), 'ada writes\nmore\n');
    await waitFor("Ada's next change in the buffer", async () => (await e.eval('(buffer-string)')) === 'ada writes\nmore\n');
  });

  // Trial s49 (fault 6, there in Neovim; Emacs the same): after one refused keystroke the buffer
  // showed nothing of the others' changes again, said nothing of it, and a reconnect left it so.
  it("a buffer whose typing was refused says it does not follow, and chorus-reconnect makes it follow the session again", async () => {
    scene = new EmacsScene();
    const a = scene.project({ 'doc.txt': 'line one\n' }, 'Ada');
    const b = scene.project({}, 'Dan');
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
    const { code } = JSON.parse(run('share', a, '--json', '--host', '127.0.0.1', '--read-only')) as { code: string };
    run('join', code, b, '--json', '--host', '127.0.0.1');
    const e = await scene.emacs();
    await e.edit(path.join(b, 'doc.txt'));
    await e.type('D D D');
    await waitFor('the buffer not following', async () => (await e.status())?.status === 'failed', 30000);
    const told = (await e.messages()).filter((m) => /read-only/.test(m));
    expect(told.at(-1)).toMatch(/doc\.txt no longer follows the session here: it keeps your text, .* M-x chorus-reconnect shows the session's text again and follows it/);
    // What a save does then (trial s56a R1).
    expect(told.at(-1)).toMatch(/saving writes your text to the file here until a writer changes the session's version, which then replaces it there and in this buffer \(yours is kept in \.chorus\/kept\/\)/);
    expect(await e.eval('(chorus--lighter)')).toBe(' Chorus[not following]');
    fs.writeFileSync(path.join(a, 'doc.txt'), 'line one\nfrom Ada\n');
    await waitFor("Ada's change on Dan's disk", async () => fs.readFileSync(path.join(b, 'doc.txt'), 'utf8') === 'line one\nfrom Ada\n', 30000);
    expect(await e.eval('(buffer-string)')).toBe('DDDline one\n');
    await e.command('(chorus-reconnect)');
    await waitFor("the buffer following with Ada's text", async () => (await e.status())?.status === 'open' && (await e.eval('(buffer-string)')) === 'line one\nfrom Ada\n', 30000);
    expect(await e.eval('(chorus--lighter)')).toBe(' Chorus');
    fs.writeFileSync(path.join(a, 'doc.txt'), 'line one\nfrom Ada\nmore\n');
    await waitFor("Ada's next change in the buffer", async () => (await e.eval('(buffer-string)')) === 'line one\nfrom Ada\nmore\n', 30000);
  });
});
