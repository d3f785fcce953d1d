/**
 * A minimal view of the peer (status, people, files) until the user interface (src/ui/) mounts:
 * it proves the page is a peer and shows why it is not (a refused code). No editing here.
 */
import type { PagePeer } from './peer-api.js';

export function mountPlaceholder(root: HTMLElement, peer: PagePeer): void {
  const box = document.createElement('div');
  box.className = 'chorus-placeholder';
  const status = document.createElement('p');
  status.className = 'status';
  status.setAttribute('role', 'status');
  const files = document.createElement('ul');
  files.className = 'files';
  box.append(status, files);
  root.replaceChildren(box);
  const render = (): void => {
    const s = peer.status();
    status.dataset.state = s.state;
    status.textContent = s.message ?? `${s.state}: ${s.peers} peer${s.peers === 1 ? '' : 's'}${s.readOnly ? ', read-only' : ''}`;
    files.replaceChildren(
      ...peer.files().map((f) => {
        const li = document.createElement('li');
        li.textContent = f.path;
        return li;
      }),
    );
  };
  peer.on('status', render);
  peer.on('files', render);
  render();
}
