// Trial s54a F3 (decision 253), end to end: each of Alice's `git stash`es while two people type
// into one file (two regions) takes out exactly what was on her disk, and every character typed
// after it stays, on every member. It removed a `0` typed after the stash and kept one it had taken
// (2 of 7 runs): the take-in found what arrived meanwhile by a text diff, which put repetitive
// typing too early. The token typists never wait for answers, as the trial's typer.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

afterEach(stopAllPeers);

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });

const FILE = 'errors.ts';
/** Each typist types just before its marker, which the committed file has (so the stash keeps it). */
const COMMITTED = "/**\n * Failures.\n */\nexport type FailureKind =@B\n  | 'notFound'\n  | 'storage';\n\n/**\n * `notArrived`, a@C\n * file of the session.\n */\n";
const TOKENS = 40;
const STASHES = 6;

/** The trial's keys: tokens `S1C0000;` …, a line end before every tenth. */
function keys(tag: string): string {
  let s = '';
  for (let i = 0; i < TOKENS; i++) s += (i % 10 === 0 ? '\n' : '') + `${tag}${String(i).padStart(4, '0')};`;
  return s;
}

/** Type `text` key by key just before `marker`, `perSecond` keys a second, never waiting for answers. */
async function type(e: ScriptedEditor, marker: string, text: string, perSecond: number): Promise<void> {
  const sent: Promise<unknown>[] = [];
  const start = Date.now();
  for (let k = 0; k < text.length; k++) {
    const due = start + (k * 1000) / perSecond;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const at = e.text(FILE).indexOf(marker);
    sent.push(e.edit(FILE, at, at, text[k]!).catch(() => undefined));
  }
  await Promise.all(sent);
}

/** What stands before `marker` in `text`, from the line the region starts on (the committed text's part left out). */
function region(text: string, after: string, marker: string): string {
  const from = text.indexOf(after) + after.length;
  return text.slice(from, text.indexOf(marker, from));
}

it("git stashes while two people type remove exactly what each took; every character typed after it stays, on every member", async () => {
  const { a, b } = await sharedPair(
    { [FILE]: COMMITTED },
    {
      prepareSharer: (dir) => {
        git(dir, 'init', '-q', '-b', 'main');
        git(dir, 'add', FILE);
        git(dir, 'commit', '-q', '-m', 'init');
      },
    },
  );
  await converged(a, b, 'the first sync');
  const bob = await editor(b.daemon.project.socketPath);
  const carol = await editor(b.daemon.project.socketPath);
  await bob.open(FILE);
  await carol.open(FILE);
  const [kb, kc] = [keys('S1B'), keys('S1C')];
  const typing = Promise.all([type(bob, '@B', kb, 40), type(carol, '@C', kc, 40)]);
  // Alice, a little later: her own edit on a branch, then a `git stash` every 0.9 s while they type.
  await new Promise((r) => setTimeout(r, 1000));
  git(a.dir, 'checkout', '-q', '-b', 'x');
  const abs = path.join(a.dir, FILE);
  fs.writeFileSync(abs, '// alice on branch x\n' + fs.readFileSync(abs, 'utf8'));
  for (let i = 0; i < STASHES; i++) {
    await new Promise((r) => setTimeout(r, 900));
    git(a.dir, 'stash', '-q');
  }
  await typing;
  const last = [`S1B${String(TOKENS - 1).padStart(4, '0')};@B`, `S1C${String(TOKENS - 1).padStart(4, '0')};@C`];
  const inFolder = (dir: string) => fs.readFileSync(path.join(dir, FILE), 'utf8');
  await until(() => last.every((t) => inFolder(a.dir).includes(t) && inFolder(b.dir).includes(t)), 'the last keys in both folders');
  const files = await converged(a, b, 'the typing and the stashes on both members');
  const text = files[FILE]!;
  await until(() => bob.text(FILE) === text && carol.text(FILE) === text, 'the editors to have the shared text');
  // What each stash took: the regions of the file as git saved it, oldest first.
  // (A stash that found the folder as committed, the daemon not having written since, saved nothing.)
  const saved = git(a.dir, 'stash', 'list').split('\n').filter(Boolean).length;
  expect(saved).toBeGreaterThanOrEqual(2);
  const took = Array.from({ length: saved }, (_, i) => git(a.dir, 'show', `stash@{${saved - 1 - i}}:${FILE}`));
  // Each stash took the keys typed since the one before, and the file has the keys typed after
  // the last: together, every key once, in order. A key lost, or one a stash took left behind,
  // breaks the chain.
  const chain = (after: string, marker: string) => [...took, text].map((t) => region(t, after, marker));
  const chains = { b: chain('FailureKind =', '@B').join(''), c: chain('`notArrived`, a', '@C').join('') };
  // It failed once in a full run (keys a stash never saw gone): the sharer's take-ins say why.
  if (chains.b !== kb || chains.c !== kc) console.error(`the sharer's log, last 80 lines:\n${a.lines.slice(-80).join('\n')}`);
  expect(chains).toEqual({ b: kb, c: kc });
  // And nothing else changed: the committed text around them (Alice's line went with the first stash).
  expect(text.replace(region(text, 'FailureKind =', '@B'), '').replace(region(text, '`notArrived`, a', '@C'), '')).toBe(COMMITTED);
}, 40_000);
