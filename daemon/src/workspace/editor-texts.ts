/**
 * What each of this daemon's editors may have saved of a live file in the last few seconds: its
 * text right after its latest own edit, and after each change sent to it since (it may have
 * applied some of them before saving). An editor saving its buffer (Neovim's `:w`, VS Code's
 * Ctrl+S) writes one of these; when a peer's change reached the daemon but not yet the editor,
 * the shared text has moved on and the saved file lags behind it. Such a save brings nothing new:
 * taken in as a change of the folder, it applied the editor's latest typing a second time (both
 * people's text doubled), or undid the peer's change it had not seen (decision 219).
 *
 * Only editors that typed count: a text an editor merely showed (opened, or followed a change
 * of) is what a `git checkout` or a `sed` puts back, and that is a change.
 *
 * Kept per file id and editor, newest last, at most PER_EDITOR texts, each while the editor still
 * had it within the last WINDOW_MS (a text is had until the next one is noted); at most FILES
 * files (the one first noted is dropped). Noting costs an array write per keystroke: the strings
 * are the ones the daemon made anyway.
 */
const WINDOW_MS = 3000;
const PER_EDITOR = 24;
const FILES = 64;

type Texts = Array<{ text: string; at: number }>;

export class EditorTexts {
  private readonly byFile = new Map<string, Map<string, Texts>>();

  /**
   * Editor `editorId` has `text` as file `fileId`'s content now (`now`: ms since the epoch):
   * after its own edit (`own`), which starts its list afresh, or after a change sent to it, noted
   * only when it typed in the file lately.
   */
  note(fileId: string, editorId: string, text: string, own: boolean, now = Date.now()): void {
    let editors = this.byFile.get(fileId);
    if (own) {
      if (!editors) {
        if (this.byFile.size >= FILES) this.byFile.delete(this.byFile.keys().next().value!);
        editors = new Map();
        this.byFile.set(fileId, editors);
      }
      editors.set(editorId, [{ text, at: now }]);
      return;
    }
    const list = editors?.get(editorId);
    if (!list) return;
    if (list.at(-1)!.at < now - WINDOW_MS) {
      editors!.delete(editorId); // typed too long ago: what it has since is what it was shown
      return;
    }
    list.push({ text, at: now });
    if (list.length > PER_EDITOR) list.splice(0, list.length - PER_EDITOR);
  }

  /** Did an editor that typed in the file have exactly `text` as its content within the last WINDOW_MS? */
  had(fileId: string, text: string, now = Date.now()): boolean {
    for (const list of this.byFile.get(fileId)?.values() ?? []) {
      for (let i = list.length - 1; i >= 0; i--) {
        if ((list[i + 1]?.at ?? now) < now - WINDOW_MS) break;
        if (list[i]!.text === text) return true;
      }
    }
    return false;
  }

  /** The file went (removed, unloaded): nothing of it is kept. */
  forget(fileId: string): void {
    this.byFile.delete(fileId);
  }
}
