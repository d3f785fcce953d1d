/**
 * The status bar: connection state and its message, linked peers, local edits not yet
 * acknowledged by any peer (kept in this browser meanwhile), read-only, and the cursor position
 * and language of the active file.
 *
 * Test hook: `data-testid="status"` on the bar, with `data-state` set to the connection state.
 */
import type { PeerStatus } from '../peer-api.js';
import { h, replaceChildren } from './dom.js';

const STATE_LABEL: Record<PeerStatus['state'], string> = {
  connecting: 'Connecting…',
  online: 'Online',
  offline: 'Offline',
  refused: 'Not connected',
};

/** The status bar. */
export class StatusBar {
  readonly dom: HTMLElement;
  private readonly left: HTMLElement;
  private readonly right: HTMLElement;

  constructor() {
    this.left = h('div', { class: 'status-left' });
    this.right = h('div', { class: 'status-right' });
    // Not a live region: counts change with every edit. Connection changes are announced as notices.
    this.dom = h('footer', { class: 'status-bar', 'data-testid': 'status' }, this.left, this.right);
  }

  setStatus(status: PeerStatus): void {
    this.dom.dataset.state = status.state;
    const peers = status.peers === 1 ? '1 peer' : `${status.peers} peers`;
    const waiting = status.unacknowledged;
    replaceChildren(
      this.left,
      h('span', { class: `status-item status-connection state-${status.state}`, 'data-testid': 'status-connection', title: status.message ?? STATE_LABEL[status.state] }, h('span', { class: 'state-dot', 'aria-hidden': 'true' }), STATE_LABEL[status.state]),
      status.state === 'online' ? h('span', { class: 'status-item', 'data-testid': 'status-peers' }, peers) : null,
      // A refusal's message is in the banner above the editor; here it would be cut short.
      status.message && status.state !== 'online' && status.state !== 'refused' ? h('span', { class: 'status-item status-message', 'data-testid': 'status-message' }, status.message) : null,
      waiting > 0
        ? h(
            'span',
            { class: 'status-item status-waiting', 'data-testid': 'status-unacknowledged', title: 'Your edits are kept in this browser and reach the others when a peer is linked.' },
            `${waiting} ${waiting === 1 ? 'edit' : 'edits'} not yet sent · kept in this browser`,
          )
        : null,
      status.readOnly ? h('span', { class: 'status-item badge', 'data-testid': 'status-read-only' }, 'Read-only') : null,
    );
  }

  /** The active file's cursor position and language (nothing when no file is open). */
  setCursor(position: { line: number; column: number } | undefined, language: string): void {
    replaceChildren(
      this.right,
      position ? h('span', { class: 'status-item', 'data-testid': 'status-cursor' }, `Ln ${position.line}, Col ${position.column}`) : null,
      position ? h('span', { class: 'status-item' }, language || 'Plain text') : null,
    );
  }
}
