/**
 * One editor connection's messages handled in the order they were sent, and its answers written
 * in that order (decision 187). vscode-jsonrpc calls a handler as each message arrives and answers
 * a request whenever its promise settles: a `buffer/edit` sent right behind the `buffer/open` of a
 * new file ran while the open still waited for storage, and was refused ("not open in this
 * editor") and answered before the open. A client may pipeline (the protocol says so), so the
 * daemon must not let a later message overtake.
 *
 * Nothing is added to a message when nothing before it is pending: the handler runs at once, in
 * the library's own dispatch, with no extra turn of the event loop (the keystroke path).
 */

/**
 * How a request's work relates to its answer:
 * - `ordered`: its work is done when its answer settles (buffer/open, session/share): later
 *   messages wait for it.
 * - `applied`: its work is done when its handler returns; the answer only waits for something
 *   else (buffer/edit: applied at once, answered once saved), so later messages need not wait.
 * - `detached`: a long session-level request (session/join, which waits for the first sync):
 *   it starts in order, but later messages neither wait for it nor for its answer; the editor
 *   keeps working (and asking `session/status`) while it runs.
 */
export type RequestKind = 'ordered' | 'applied' | 'detached';

const ignore = (): void => undefined;

function isPromise(v: unknown): v is Promise<unknown> {
  return v instanceof Promise;
}

export class MessageOrder {
  /** Settles once every message taken so far has done its work; undefined when none is pending. */
  private held: Promise<void> | undefined;
  /** The answer of the last request taken (not detached), while it is not settled. */
  private answer: Promise<unknown> | undefined;
  /** How many messages have been taken (requests and notifications). */
  private taken = 0;

  /**
   * Run a request's handler `run` once every earlier message's work is done, and give the answer
   * to hand to vscode-jsonrpc: it settles no earlier than every earlier request's answer. Must be
   * called in the order the messages arrived (vscode-jsonrpc dispatches in order). A handler that
   * throws gives a rejected answer.
   */
  request<T>(kind: RequestKind, run: () => T | Promise<T>): T | Promise<T> {
    this.taken++;
    let result: T | Promise<T>;
    if (this.held === undefined) {
      try {
        result = run();
      } catch (e) {
        result = Promise.reject(e);
      }
      if (kind === 'ordered' && isPromise(result)) this.hold(result);
    } else {
      let started!: Promise<void>;
      result = new Promise<T>((resolve, reject) => {
        started = this.held!.then(() => {
          try {
            resolve(run());
          } catch (e) {
            reject(e);
          }
        });
      });
      this.hold(kind === 'ordered' ? result : started);
    }
    if (kind === 'detached') return result;
    const before = this.answer;
    // The answer of an earlier request still pending: this one waits for it. vscode-jsonrpc awaits
    // the very promise returned here and reacts to it before any reaction added later, so the
    // earlier answer is written before this one's `then` runs.
    const answer = before === undefined ? result : before.then(() => result, () => result);
    if (!isPromise(answer)) return answer;
    this.answer = answer;
    const clear = (): void => {
      if (this.answer === answer) this.answer = undefined;
    };
    answer.then(clear, clear);
    return answer;
  }

  /** Run a notification's handler `run` (which must not throw) once every earlier message's work is done. */
  notification(run: () => void): void {
    this.taken++;
    if (this.held === undefined) run();
    else this.hold(this.held.then(run));
  }

  /**
   * Resolves once `read()` messages have been taken and every one's work is done (not its answer:
   * an edit is done when applied). vscode-jsonrpc hands on one message per turn of the event loop,
   * even after its connection has closed. A message it does not hand on (a request cancelled
   * before it ran, answered by the library itself) is waited for at most `turns` turns with
   * nothing taken. Bounded in all: at most `ms` milliseconds.
   */
  async settled(read: () => number, turns = 100, ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    await this.handedOn(read, turns, ms);
    while (this.held !== undefined && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.held, new Promise<void>((r) => (timer = setTimeout(r, until - Date.now())))]);
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once `read()` messages have been handed on by vscode-jsonrpc (taken here), whether or
   * not their work has run: what each one's arrival tells (`onRequest`'s `arrived`) is known
   * then. A message it does not hand on is waited for at most `turns` turns of the event loop
   * with nothing taken; at most `ms` milliseconds in all. Pass a number to wait only for the
   * messages read so far (an editor typing on never lets a moving count be reached).
   */
  async handedOn(read: number | (() => number), turns = 100, ms = 30_000): Promise<void> {
    const upTo = typeof read === 'number' ? () => read : read;
    const until = Date.now() + ms;
    let still = 0;
    let last = this.taken;
    while (this.taken < upTo() && still < turns && Date.now() < until) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.taken === last) still++;
      else [still, last] = [0, this.taken];
    }
  }

  /** Later messages wait until `work` settles (whether it succeeds or fails). */
  private hold(work: Promise<unknown>): void {
    const held = work.then(ignore, ignore);
    this.held = held;
    void held.then(() => {
      if (this.held === held) this.held = undefined;
    });
  }
}
