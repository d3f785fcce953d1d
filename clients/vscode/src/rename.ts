/**
 * The editors of a renamed file follow it. The daemon has already moved the file (a peer renamed
 * it, or a tool did on disk) and buffer sync has moved the shared buffer into the document of the
 * new path; here each tab showing the old document is replaced, in its own group, by the new
 * one with the same selections and scroll position, and focus stays where it was (decision 265:
 * the person may be typing in it all along). A
 * `WorkspaceEdit.renameFile` would move the file a second time; VS Code has no API that points
 * an open editor at another file, so the old tab is closed and the new document shown.
 */
import type { Moved } from './buffer-sync.js';
import type { Vscode, vscode } from './vscode-api.js';

/** How often the new path's tab is asked for before the move gives up (it may not be on disk yet). */
const OPEN_ATTEMPTS = 10;
/**
 * A modified old tab is closed once the person has not typed for this long (closing it shows it
 * for a moment, and a key typed then goes to it), or after QUIET_MAX_MS all the same.
 */
const QUIET_MS = 1200;
const QUIET_MAX_MS = 20_000;

/** What moveEditors asks of buffer sync. */
export interface MoveHelp {
  /**
   * Resolves once every key typed in the old document so far is in the new one, with where an
   * offset of the old document (its caret) is in the new one now.
   */
  settled(): Promise<(offset: number) => number>;
  /** Whether the person typed within the last `ms` (they are at the keyboard, in an editor). */
  typedWithin(ms: number): boolean;
}

const still: MoveHelp = { settled: async () => (offset) => offset, typedWithin: () => false };

/**
 * Move every tab of `moved.from` to `moved.to`; keep `moved.replaced` in an untitled tab. Resolves
 * how many tabs moved (none when VS Code moved them itself: a rename in its explorer).
 *
 * The person may be typing in the old tab throughout: buffer sync puts those keys into the new
 * document (`help.settled`). The active old tab is replaced by the new one in one step, with its
 * carets as they are then and the keyboard if the person is typing; a modified old tab is closed
 * after that, once they pause: VS Code closes one without asking only when it is the active editor.
 * Before, the new tab was shown, the old one again to close it and the new one once more: about a
 * second of `active none`, whose keys reached no document (trial s58a F1).
 */
export async function moveEditors(vs: Vscode, moved: Moved, help: MoveHelp = still): Promise<number> {
  const { from, to } = moved;
  if (moved.replaced !== undefined) {
    // The rename replaced a file open here with unsaved text: that text is the person's.
    const kept = await vs.workspace.openTextDocument({ content: moved.replaced, language: to.languageId });
    await vs.window.showTextDocument(kept, { preview: false, preserveFocus: true });
  }
  if (from === to) return 0;
  const fromKey = from.uri.toString();
  const toKey = to.uri.toString();
  const isFrom = (t: vscode.Tab) => t.input instanceof vs.TabInputText && t.input.uri.toString() === fromKey;
  const isTo = (t: vscode.Tab) => t.input instanceof vs.TabInputText && t.input.uri.toString() === toKey;
  const active = vs.window.activeTextEditor;
  const focused = active && { doc: active.document, column: active.viewColumn };
  const columns = vs.window.tabGroups.all.filter((g) => g.tabs.some(isFrom)).map((g) => g.viewColumn);
  if (columns.length === 0) return 0;
  // Where the old tab's carets are in the new document, every key typed so far in it counted.
  const place = (map: (offset: number) => number, old: readonly vscode.Selection[]) =>
    old.map((s) => new vs.Selection(to.positionAt(map(from.offsetAt(s.anchor))), to.positionAt(map(from.offsetAt(s.active)))));
  const group = (column: vscode.ViewColumn) => vs.window.tabGroups.all.find((g) => g.viewColumn === column);
  const left: vscode.ViewColumn[] = [];
  for (const column of columns) {
    const tab = group(column)?.tabs.find(isFrom);
    if (!tab) continue;
    const editor = () => vs.window.visibleTextEditors.find((e) => e.document === from && e.viewColumn === column);
    const top = editor()?.visibleRanges[0]?.start;
    // The new tab first, behind the old one: retried until VS Code has it (F2).
    await openBehind(vs, to, column, tab.isPreview, isTo);
    const view = editor();
    if (view) {
      // Shown in the old one's place, in one step; its carets where the old one's are now (the
      // keys still on their way are put in before them). The keyboard goes with it when the
      // person is typing, else stays (the terminal that ran `mv`, say).
      const map = await help.settled();
      const typing = vs.window.activeTextEditor === editor() && help.typedWithin(3000);
      const selections = place(map, editor()?.selections ?? view.selections);
      const shown = await vs.window.showTextDocument(to, { viewColumn: column, preserveFocus: !typing, preview: tab.isPreview, selection: selections[0]! });
      if (selections.length > 1) shown.selections = selections;
      if (top && selections.length > 0 && !shown.visibleRanges.some((r) => r.contains(selections[0]!.active))) shown.revealRange(new vs.Range(top, top), vs.TextEditorRevealType.AtTop);
    }
    const old = group(column)?.tabs.find(isFrom);
    if (!old) continue;
    if (!from.isDirty) await vs.window.tabGroups.close(old, true);
    else left.push(column);
  }
  for (const column of left) {
    // Modified: only reverting closes it without asking, and only the active editor reverts.
    const quiet = Date.now() + QUIET_MAX_MS;
    while (help.typedWithin(QUIET_MS) && Date.now() < quiet) await new Promise((r) => setTimeout(r, 200));
    const g = group(column);
    const shown = g?.activeTab;
    const shownUri = shown && !isFrom(shown) && shown.input instanceof vs.TabInputText ? shown.input.uri : undefined;
    await closeTab(vs, from, column, isFrom);
    if (shownUri && !(group(column)?.activeTab?.input instanceof vs.TabInputText && (group(column)!.activeTab!.input as vscode.TabInputText).uri.toString() === shownUri.toString())) {
      await vs.window.showTextDocument(shownUri, { viewColumn: column, preserveFocus: true, preview: false });
    }
  }
  // The editor that was active is again (the new document in place of the old one); focus is
  // left where it was (the terminal that ran `mv`, say).
  const target = focused?.doc === from ? to : focused?.doc;
  const current = vs.window.activeTextEditor;
  if (target && focused?.column !== undefined && !(current?.document === target && current.viewColumn === focused.column)) {
    await vs.window.showTextDocument(target, { viewColumn: focused.column, preserveFocus: true });
  }
  return columns.length;
}

/**
 * Open `to` in `column` behind its active tab (`vscode.open` with `background`), until its tab is
 * there: right after a folder's rename its file may not be on disk yet, and VS Code then said
 * "Could NOT open editor" and the old tabs stayed, modified, at the gone paths (trial s58a F2).
 */
async function openBehind(vs: Vscode, to: vscode.TextDocument, column: vscode.ViewColumn, preview: boolean, isTo: (t: vscode.Tab) => boolean): Promise<void> {
  const there = () => vs.window.tabGroups.all.find((g) => g.viewColumn === column)?.tabs.some(isTo) ?? false;
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    try {
      await vs.commands.executeCommand('vscode.open', to.uri, { viewColumn: column, preserveFocus: true, preview, background: true });
    } catch (e) {
      error = e;
    }
    if (there()) return;
    if (attempt === OPEN_ATTEMPTS) throw new Error(`${to.uri.fsPath} would not open in a tab${error ? ` (${String(error)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

/**
 * Close the tab of `doc` in `column` without saving: saving would write the old path again.
 * Closing a tab with unsaved changes asks the person (`tabGroups.close` has no "don't save"), so
 * such a tab is made the active editor and reverted and closed; reverting a document whose file
 * is gone keeps its text and only forgets it was modified (its text is in the new document).
 */
async function closeTab(vs: Vscode, doc: vscode.TextDocument, column: vscode.ViewColumn, isDoc: (t: vscode.Tab) => boolean): Promise<void> {
  const tab = vs.window.tabGroups.all.find((g) => g.viewColumn === column)?.tabs.find(isDoc);
  if (!tab) return;
  if (!doc.isDirty) {
    await vs.window.tabGroups.close(tab, true);
    return;
  }
  await vs.window.showTextDocument(doc, { viewColumn: column, preserveFocus: true, preview: false });
  // In a group other than the active one, only focus makes it the active editor.
  if (vs.window.activeTextEditor?.document !== doc) await vs.window.showTextDocument(doc, { viewColumn: column, preserveFocus: false, preview: false });
  if (vs.window.activeTextEditor?.document === doc) await vs.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}
