/**
 * The editors of a renamed file follow it. The daemon has already moved the file (a peer renamed
 * it, or a tool did on disk) and buffer sync has moved the shared buffer into the document of the
 * new path; here each tab showing the old document is replaced, in its own group, by the new
 * one with the same selections and scroll position, and focus stays where it was. A
 * `WorkspaceEdit.renameFile` would move the file a second time; VS Code has no API that points
 * an open editor at another file, so the old tab is closed and the new document shown.
 */
import type { Moved } from './buffer-sync.js';
import type { Vscode, vscode } from './vscode-api.js';

/**
 * Move every tab of `moved.from` to `moved.to`; keep `moved.replaced` in an untitled tab. Resolves
 * how many tabs moved (none when VS Code moved them itself: a rename in its explorer).
 */
export async function moveEditors(vs: Vscode, moved: Moved): Promise<number> {
  const { from, to } = moved;
  if (moved.replaced !== undefined) {
    // The rename replaced a file open here with unsaved text: that text is the person's.
    const kept = await vs.workspace.openTextDocument({ content: moved.replaced, language: to.languageId });
    await vs.window.showTextDocument(kept, { preview: false, preserveFocus: true });
  }
  if (from === to) return 0;
  const fromKey = from.uri.toString();
  const views = new Map(vs.window.visibleTextEditors.filter((e) => e.document === from && e.viewColumn !== undefined).map((e) => [e.viewColumn!, { selections: e.selections, top: e.visibleRanges[0]?.start }]));
  const active = vs.window.activeTextEditor;
  const focused = active && { doc: active.document, column: active.viewColumn };
  const isFrom = (t: vscode.Tab) => t.input instanceof vs.TabInputText && t.input.uri.toString() === fromKey;
  const columns = vs.window.tabGroups.all.filter((g) => g.tabs.some(isFrom)).map((g) => g.viewColumn);
  if (columns.length === 0) return 0;
  for (const column of columns) {
    const group = () => vs.window.tabGroups.all.find((g) => g.viewColumn === column);
    const tab = group()?.tabs.find(isFrom);
    if (!tab) continue;
    // A tab in the background stays there: the group shows what it showed.
    const shown = group()?.activeTab;
    const shownUri = shown && shown !== tab && shown.input instanceof vs.TabInputText ? shown.input.uri : undefined;
    const editor = await vs.window.showTextDocument(to, { viewColumn: column, preserveFocus: true, preview: tab.isPreview });
    const view = views.get(column);
    if (view) {
      editor.selections = view.selections;
      if (view.top) editor.revealRange(new vs.Range(view.top, view.top), vs.TextEditorRevealType.AtTop);
    }
    await closeTab(vs, from, column, isFrom);
    if (shownUri) await vs.window.showTextDocument(shownUri, { viewColumn: column, preserveFocus: true, preview: false });
  }
  // The editor that was active is again (the new document in place of the old one); focus is
  // left where it was (the terminal that ran `mv`, say).
  if (focused?.column !== undefined) await vs.window.showTextDocument(focused.doc === from ? to : focused.doc, { viewColumn: focused.column, preserveFocus: true });
  return columns.length;
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
