/**
 * Remote cursors and selections as decorations: each person's selections tinted in their colour,
 * a caret bar where their cursor is, and their name in a small badge of their colour floating
 * over the caret (below it on the first line, where above would be cut off). One set of
 * decoration types per person, made on first sight and disposed when they leave.
 */
import type { Presence } from './presence.js';
import type { Vscode, vscode } from './vscode-api.js';

interface PeerStyle {
  selection: vscode.TextEditorDecorationType;
  caret: vscode.TextEditorDecorationType;
  labelAbove: vscode.TextEditorDecorationType;
  labelBelow: vscode.TextEditorDecorationType;
}

/** `#rrggbb` plus an alpha byte; anything else falls back to a neutral blue. */
export function withAlpha(color: string, alpha: number): string {
  const c = /^#[0-9a-f]{6}$/i.test(color) ? color : '#4363d8';
  return c + Math.round(alpha * 255).toString(16).padStart(2, '0');
}

/** Black or white, whichever reads better on `color`. */
export function textOn(color: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return '#ffffff';
  const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16));
  return 0.299 * r! + 0.587 * g! + 0.114 * b! > 160 ? '#000000' : '#ffffff';
}

/** Escape a name for CSS `content` (VS Code puts contentText in quotes). */
function label(name: string): string {
  return name.replace(/[\\'"]/g, '').slice(0, 40);
}

export class CursorDecorations {
  private readonly styles = new Map<string, PeerStyle>();

  constructor(
    private readonly vs: Vscode,
    private readonly presence: Presence,
    /** The project path of a document, if shared. */
    private readonly pathOf: (doc: vscode.TextDocument) => string | undefined,
    private readonly showNames: () => boolean,
  ) {}

  private style(id: string, name: string, color: string): PeerStyle {
    let s = this.styles.get(id);
    if (s) return s;
    const solid = withAlpha(color, 1).slice(0, 7);
    const badge = (top: string) =>
      this.vs.window.createTextEditorDecorationType({
        rangeBehavior: this.vs.DecorationRangeBehavior.ClosedClosed,
        before: {
          contentText: label(name),
          backgroundColor: solid,
          color: textOn(solid),
          fontWeight: '600',
          // The only way to position a badge: VS Code copies textDecoration into the CSS.
          textDecoration: `none; position: absolute; ${top}; margin-left: -2px; padding: 0 4px; border-radius: 3px 3px 3px 0; font-size: 0.75em; line-height: 1.4em; white-space: nowrap; z-index: 10; pointer-events: none; opacity: 0.95`,
        },
      });
    s = {
      selection: this.vs.window.createTextEditorDecorationType({
        backgroundColor: withAlpha(solid, 0.25),
        borderRadius: '2px',
        rangeBehavior: this.vs.DecorationRangeBehavior.ClosedClosed,
        overviewRulerColor: solid,
        overviewRulerLane: this.vs.OverviewRulerLane.Center,
      }),
      caret: this.vs.window.createTextEditorDecorationType({
        rangeBehavior: this.vs.DecorationRangeBehavior.ClosedClosed,
        overviewRulerColor: solid,
        overviewRulerLane: this.vs.OverviewRulerLane.Full,
        after: {
          contentText: '\u200b',
          textDecoration: `none; position: absolute; margin-left: -1px; width: 0; height: 1.2em; border-left: 2px solid ${solid}; z-index: 9; pointer-events: none`,
        },
      }),
      labelAbove: badge('top: -1.15em'),
      labelBelow: badge('top: 1.1em'),
    };
    this.styles.set(id, s);
    return s;
  }

  /** Redraw every visible editor. */
  render(): void {
    for (const editor of this.vs.window.visibleTextEditors) this.renderEditor(editor);
    // People who left: their decorations go with them.
    for (const [id, s] of this.styles) {
      if (this.presence.peers.has(id)) continue;
      for (const t of Object.values(s)) t.dispose();
      this.styles.delete(id);
    }
  }

  renderEditor(editor: vscode.TextEditor): void {
    const path = this.pathOf(editor.document);
    const here = path === undefined ? [] : this.presence.in(path);
    const names = this.showNames();
    const seen = new Set<string>();
    const doc = editor.document;
    const clamp = (p: { line: number; character: number }) => doc.validatePosition(new this.vs.Position(p.line, p.character));
    for (const c of here) {
      seen.add(c.peer.id);
      const s = this.style(c.peer.id, c.peer.name, c.peer.color);
      const selections: vscode.Range[] = [];
      const carets: vscode.DecorationOptions[] = [];
      const above: vscode.DecorationOptions[] = [];
      const below: vscode.DecorationOptions[] = [];
      c.selections.forEach((sel, i) => {
        const anchor = clamp(sel.anchor);
        const head = clamp(sel.head);
        if (!anchor.isEqual(head)) selections.push(new this.vs.Range(anchor, head));
        const at = new this.vs.Range(head, head);
        carets.push({ range: at, hoverMessage: c.peer.name });
        // One name per person, at the primary cursor.
        if (names && i === 0) (head.line === 0 ? below : above).push({ range: at });
      });
      editor.setDecorations(s.selection, selections);
      editor.setDecorations(s.caret, carets);
      editor.setDecorations(s.labelAbove, above);
      editor.setDecorations(s.labelBelow, below);
    }
    for (const [id, s] of this.styles) {
      if (seen.has(id)) continue;
      for (const t of Object.values(s)) editor.setDecorations(t, []);
    }
  }

  dispose(): void {
    for (const s of this.styles.values()) for (const t of Object.values(s)) t.dispose();
    this.styles.clear();
  }
}
