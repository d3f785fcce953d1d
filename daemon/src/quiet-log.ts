/**
 * Log lines that a stranger or a hostile peer can cause, rate-limited per kind: a flood of bare
 * connections or refused messages must not fill the disk (there is no log rotation) nor keep the
 * daemon busy writing (issue: log flood, decision 149). The first `perWindow` lines of a kind in a
 * window are written; the rest are counted, and when the window ends one summary line says how
 * many were not logged. Used by the replicator (refused peer messages, once a minute per peer and
 * kind), the overlay (failed handshakes) and the relay server.
 */
import { unref, type Timer } from './timers.js';

interface Window {
  /** When the window opened (ms epoch). */
  at: number;
  logged: number;
  unlogged: number;
  timer?: Timer;
}

/**
 * Lines a minute a member's malformed messages of one kind get (presence, chat): a few show what
 * is wrong with them; each one logged let a member fill the disk.
 */
export const MALFORMED_LINES_PER_MINUTE = 20;

export class QuietLog {
  readonly #windows = new Map<string, Window>();

  /**
   * @param write where lines go (the daemon log)
   * @param windowMs length of a window, ms (a minute by default)
   * @param perWindow lines of one kind written per window before the rest are only counted
   * @param maxKinds most kinds remembered at once (keys carry peer ids): beyond, the oldest goes
   */
  constructor(
    private readonly write: (msg: string) => void,
    readonly windowMs = 60_000,
    readonly perWindow = 1,
    private readonly maxKinds = 1000,
  ) {}

  /**
   * Log `msg` unless `kind` already had `perWindow` lines in this window; then only count it.
   * `note` is appended to each written line (e.g. "logged at most once a minute"). Returns
   * whether the line was written.
   */
  log(kind: string, msg: string, note = ''): boolean {
    const now = Date.now();
    let w = this.#windows.get(kind);
    if (w && now - w.at >= this.windowMs) {
      this.#summarize(kind, w);
      w = undefined;
    }
    if (!w) {
      if (this.#windows.size >= this.maxKinds) this.forget(this.#windows.keys().next().value as string);
      w = { at: now, logged: 0, unlogged: 0 };
      this.#windows.set(kind, w);
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      this.write(`${msg}${note}`);
      return true;
    }
    w.unlogged++;
    // The summary comes when the window ends, even if nothing of the kind follows.
    w.timer ??= unref(setTimeout(() => {
      if (this.#windows.get(kind) !== w) return;
      this.#summarize(kind, w);
      this.#windows.delete(kind);
    }, w.at + this.windowMs - now));
    return false;
  }

  /** Forget kinds (a peer that went away): exact `kind`, or every kind starting with `prefix`. */
  forget(kind: string, prefix = false): void {
    for (const [k, w] of this.#windows) {
      if (prefix ? !k.startsWith(kind) : k !== kind) continue;
      clearTimeout(w.timer);
      this.#windows.delete(k);
    }
  }

  /** Stop every pending summary (shutting down). */
  clear(): void {
    for (const w of this.#windows.values()) clearTimeout(w.timer);
    this.#windows.clear();
  }

  #summarize(kind: string, w: Window): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    if (w.unlogged > 0) this.write(`${w.unlogged} more like this (${kind}) in the last ${Math.round(this.windowMs / 1000)} s, not logged`);
  }
}
