/**
 * Edits the daemon has not answered, for a client written in TypeScript (the VS Code extension,
 * `chorus lsp`); the Neovim and Emacs clients keep the same rule in their own language, with the
 * same words (`daemonNotAnswering`, `daemonAnswersAgain` in session-words.ts, generated into
 * their tables). A daemon stopped (`kill -STOP`, a suspended terminal) keeps its connection open
 * and answers nothing: editors said nothing while the person typed on (trial s55a F6, found in
 * Neovim). An edit unanswered for SLOW_ANSWER_MS is said once, and once all are answered, that
 * the daemon answers again. Only edits are watched: a join or a share may rightly take minutes,
 * and opens have their own answers to wait for.
 */

/** An edit unanswered this long (ms) is said. */
export const SLOW_ANSWER_MS = 10_000;
/** How often (ms) the unanswered edits are looked at while there are any. */
const CHECK_MS = 2_000;

export interface AnswerWatchEvents {
  /** The oldest of `waiting` edits has waited `seconds` (whole seconds). Called once per stall. */
  slow(seconds: number, waiting: number): void;
  /** Every edit is answered after a stall `slow` told of. */
  again(): void;
}

export class AnswerWatch {
  /** Sent and not answered: when each was sent (ms, Date.now). */
  readonly #unanswered = new Set<{ at: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #saidSlow = false;

  constructor(
    private readonly events: AnswerWatchEvents,
    private readonly now: () => number = Date.now,
  ) {}

  /** An edit whose answer is `answer`: watched until it settles, either way. */
  watch(answer: Promise<unknown>): void {
    const entry = { at: this.now() };
    this.#unanswered.add(entry);
    const done = () => void this.#unanswered.delete(entry);
    answer.then(done, done);
    this.#timer ??= setInterval(() => this.check(), CHECK_MS);
  }

  /** The connection went: its requests are never answered, and are not waited for any more. */
  reset(): void {
    this.#unanswered.clear();
    this.#saidSlow = false;
    this.#stop();
  }

  /** Say what changed since the last look (run every CHECK_MS while edits wait; public for tests). */
  check(): void {
    if (this.#unanswered.size === 0) {
      this.#stop();
      if (this.#saidSlow) {
        this.#saidSlow = false;
        this.events.again();
      }
      return;
    }
    if (this.#saidSlow) return;
    let oldest = Infinity;
    for (const e of this.#unanswered) oldest = Math.min(oldest, e.at);
    const waited = this.now() - oldest;
    if (waited < SLOW_ANSWER_MS) return;
    this.#saidSlow = true;
    this.events.slow(Math.floor(waited / 1000), this.#unanswered.size);
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
