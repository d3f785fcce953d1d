// The watch of unanswered edits that the VS Code client and `chorus lsp` share
// (protocol/src/answer-watch.ts): a stalled daemon is said once per stall, its return once, and
// nothing is said while answers come in time; the words every client uses.
import { afterEach, expect, it } from 'vitest';
import { AnswerWatch, SLOW_ANSWER_MS } from '../../protocol/src/answer-watch.js';
import { answersAgainWords, notAnsweringWords } from '../../protocol/src/session-words.js';

let watch: AnswerWatch | undefined;
afterEach(() => watch?.reset());

function setUp() {
  let now = 1_000_000;
  const said: string[] = [];
  watch = new AnswerWatch({ slow: (s, n) => said.push(`slow ${s} s, ${n} waiting`), again: () => said.push('again') }, () => now);
  return { watch, said, advance: (ms: number) => void (now += ms) };
}

/** A promise and its resolve, to play an answer arriving. */
function answer(): { p: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return { p, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));

it('says nothing while every edit is answered within the limit', async () => {
  const { watch, said, advance } = setUp();
  for (let i = 0; i < 5; i++) {
    const a = answer();
    watch.watch(a.p);
    advance(SLOW_ANSWER_MS - 1);
    watch.check();
    a.resolve();
    await tick();
    watch.check();
  }
  expect(said).toEqual([]);
});

it('says a stall once however long it lasts, and its end once; a second stall is said again', async () => {
  const { watch, said, advance } = setUp();
  const first = answer();
  watch.watch(first.p);
  advance(4000);
  const second = answer();
  watch.watch(second.p);
  advance(SLOW_ANSWER_MS - 4000);
  watch.check();
  expect(said).toEqual(['slow 10 s, 2 waiting']);
  advance(60_000);
  watch.check();
  watch.check();
  first.resolve();
  await tick();
  watch.check();
  expect(said).toEqual(['slow 10 s, 2 waiting']); // one still waits
  second.resolve();
  await tick();
  watch.check();
  watch.check();
  expect(said).toEqual(['slow 10 s, 2 waiting', 'again']);

  const third = answer();
  watch.watch(third.p);
  advance(SLOW_ANSWER_MS + 2500);
  watch.check();
  third.resolve();
  await tick();
  watch.check();
  expect(said).toEqual(['slow 10 s, 2 waiting', 'again', 'slow 12 s, 1 waiting', 'again']);
});

it('a refused edit counts as answered; a lost connection forgets what waited, without a word', async () => {
  const { watch, said, advance } = setUp();
  const refused = answer();
  watch.watch(refused.p.then(() => Promise.reject(new Error('refused'))));
  refused.resolve();
  await tick();
  advance(SLOW_ANSWER_MS * 2);
  watch.check();
  expect(said).toEqual([]);

  watch.watch(new Promise(() => undefined)); // never answered: the connection went
  advance(SLOW_ANSWER_MS);
  watch.check();
  expect(said).toEqual(['slow 10 s, 1 waiting']);
  watch.reset();
  watch.check();
  expect(said).toEqual(['slow 10 s, 1 waiting']);
});

it('words: the root, how long, how many edits wait, that nothing is lost; and the return', () => {
  expect(notAnsweringWords('/p', 12, 1)).toBe('the daemon for /p has not answered your typing for 12 s (1 edit waiting): it is stopped (suspended) or very busy. Nothing is lost: your edits are sent as soon as it answers; `chorus status` in a terminal says more');
  expect(notAnsweringWords('/p', 10, 3)).toContain('(3 edits waiting)');
  expect(answersAgainWords('/p')).toBe('the daemon for /p answers again; what you typed meanwhile is shared');
});
