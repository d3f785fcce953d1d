/**
 * Presence as an LSP client can show it (docs/decisions/051-lsp-presence.md): each remote
 * peer's cursor or selection is a hint-severity diagnostic named after them
 * (textDocument/publishDiagnostics, which every LSP client renders, unlike inlay hints), and
 * people joining or leaving are a window/showMessage.
 */
import type * as Schemas from '@chorus/protocol';
// Handles, not schemas: the daemon validates what it is sent, and `chorus lsp` loads no zod (decision 203).
import * as P from '@chorus/protocol/handles';
import { DiagnosticSeverity, type Connection, type Diagnostic, type Range } from 'vscode-languageserver/node';
import type { LineChar } from '../text/positions.js';
import { tell } from './messages.js';

/** What presence needs to know about an open document. */
export interface PresenceDocs {
  /** The client's URI and a mapping of daemon positions into the client's text, if `path` is open. */
  lookup(path: string): { uri: string; toClient(pos: LineChar): LineChar | undefined; lineLength(line: number): number } | undefined;
}

interface Mark {
  peer: Schemas.PeerInfo;
  selections: Schemas.Selection[];
}

export class PresenceView {
  /** path → peer id → that peer's selections there. */
  private readonly marks = new Map<string, Map<string, Mark>>();

  constructor(
    private readonly conn: Connection,
    private readonly docs: PresenceDocs,
  ) {}

  /** A `cursor/didChange`: remember it and redraw that file. */
  cursor(p: Schemas.ParamsOf<typeof Schemas.CursorDidChange>): void {
    for (const [path, byPeer] of this.marks) {
      if (path !== p.path && byPeer.delete(p.peer.id)) this.render(path);
    }
    let byPeer = this.marks.get(p.path);
    if (!byPeer) this.marks.set(p.path, (byPeer = new Map()));
    if (p.selections.length) byPeer.set(p.peer.id, { peer: p.peer, selections: p.selections });
    else byPeer.delete(p.peer.id);
    this.render(p.path);
  }

  joined(peer: Schemas.PeerInfo, reason: 'joined' | 'back' | undefined): void {
    tell(this.conn, 'info', `Chorus: ${P.peerCameWords(peer.name, reason)}`);
  }

  left(peer: Schemas.PeerInfo, reason: 'left' | 'unreachable' | undefined): void {
    for (const [path, byPeer] of this.marks) if (byPeer.delete(peer.id)) this.render(path);
    tell(this.conn, 'info', `Chorus: ${P.peerGoneWords(peer.name, reason)}`);
  }

  /** An open file was renamed: the marks there are at its new path (peers' next cursors say so too). */
  renamed(from: string, to: string): void {
    const byPeer = this.marks.get(from);
    if (byPeer) {
      this.marks.delete(from);
      const there = this.marks.get(to);
      if (there) for (const [id, m] of byPeer) there.set(id, m);
      else this.marks.set(to, byPeer);
    }
    this.render(to);
  }

  /** Draw every peer in `path` again (after it opened, or its text moved under them). */
  render(path: string): void {
    const doc = this.docs.lookup(path);
    if (!doc) return;
    const diagnostics: Diagnostic[] = [];
    for (const { peer, selections } of this.marks.get(path)?.values() ?? []) {
      for (const s of selections) {
        const range = this.rangeOf(doc, s);
        if (range) diagnostics.push({ range, severity: DiagnosticSeverity.Hint, source: 'chorus', code: 'peer-cursor', message: `${peer.name} is here` });
      }
    }
    void this.conn.sendDiagnostics({ uri: doc.uri, diagnostics }).catch(() => undefined);
  }

  /** Forget what was drawn for a document the client closed. */
  clear(uri: string): void {
    void this.conn.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
  }

  private rangeOf(doc: NonNullable<ReturnType<PresenceDocs['lookup']>>, s: Schemas.Selection): Range | undefined {
    const anchor = doc.toClient(s.anchor);
    const head = doc.toClient(s.head);
    if (!anchor || !head) return undefined;
    const before = anchor.line < head.line || (anchor.line === head.line && anchor.character <= head.character);
    if (anchor.line !== head.line || anchor.character !== head.character) return before ? { start: anchor, end: head } : { start: head, end: anchor };
    // A caret: one character wide where there is one, so clients that hide empty ranges show it.
    const width = head.character < doc.lineLength(head.line) ? 1 : 0;
    return { start: head, end: { line: head.line, character: head.character + width } };
  }
}
