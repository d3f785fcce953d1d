/**
 * The part of the `vscode` API this extension uses, as a type. Modules take it as a parameter
 * instead of importing `vscode`, so the unit tests hand them a small fake (test/vscode/fake-vscode.ts).
 */
import type * as vscode from 'vscode';

export type Vscode = Pick<
  typeof vscode,
  'workspace' | 'window' | 'commands' | 'Range' | 'Position' | 'Selection' | 'WorkspaceEdit' | 'Uri' | 'ThemeColor' | 'StatusBarAlignment' | 'TextEditorRevealType' | 'DecorationRangeBehavior' | 'OverviewRulerLane' | 'MarkdownString' | 'TextDocumentChangeReason' | 'TabInputText'
>;

export type { vscode };
