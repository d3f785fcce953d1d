/**
 * Conflict copies told to the person (decision 224): when two peers make or change a file at
 * once and one version is moved aside as `name (conflict …)`, every editor of this daemon gets a
 * `session/notice` warning saying where each version is, not only the log. A burst (a join
 * settling dozens of clashes at once) is one notice with the count, not a message per file.
 */

/** How long notices are gathered before they go out, in ms: one settlement's burst fits in it. */
export const COPY_NOTICE_WINDOW_MS = 500;
/** At most this many go out one by one; more in one window are summed up in one. */
export const COPY_NOTICES_ONE_BY_ONE = 3;

/** How a kind of notice is said: one alone, and a burst summed up. */
export interface NoticeWords {
  one(message: string): string;
  many(count: number): string;
}

/** Conflict copies (decision 224). */
export const COPY_WORDS: NoticeWords = {
  one: (m) => `${m}. Compare the two versions, keep what you want and delete the other`,
  many: (n) =>
    `${n} files were made or changed on two peers at once (or came from a peer's folder that had its own, or met a folder made at their path): each other version is kept beside it, as "name (conflict …)", and .chorus/daemon.log names every one. Compare each pair, keep what you want and delete the other`,
};

/** Deleted files back with edits made on another side (Workspace `back`). */
export const BACK_WORDS: NoticeWords = {
  one: (m) => m,
  many: (n) => `${n} files deleted on one side came back, each with edits made on another, kept rather than lost; .chorus/daemon.log names every one. Delete again what should go`,
};

export class CopyNotices {
  #pending: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param send hands a message to every editor (a `session/notice`)
   * @param windowMs how long a burst is gathered (COPY_NOTICE_WINDOW_MS)
   * @param words how this kind is said (COPY_WORDS, BACK_WORDS)
   */
  constructor(
    private readonly send: (message: string) => void,
    private readonly windowMs = COPY_NOTICE_WINDOW_MS,
    private readonly words: NoticeWords = COPY_WORDS,
  ) {}

  /** A version was kept as a conflict copy: `message` (the workspace's `copied`) says which and where. */
  add(message: string): void {
    this.#pending.push(message);
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.flush(), this.windowMs);
    this.#timer.unref();
  }

  /** Send what was gathered: each message, or one that sums up a burst. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = this.#pending;
    this.#pending = [];
    if (all.length === 0) return;
    if (all.length <= COPY_NOTICES_ONE_BY_ONE) {
      for (const m of all) this.send(this.words.one(m));
      return;
    }
    this.send(this.words.many(all.length));
  }

  /** Stop: what was gathered and not sent is in the log already. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
  }
}
