/**
 * The page a join link opens (issue 17): reads the join code from the fragment, starts Automerge's
 * WebAssembly, builds the Chorus peer (src/peer/) and hands it to the user interface (src/ui/).
 * No inline script: the page's policy allows scripts from this origin only (page-server.ts).
 */
import './peer/no-eval.js'; // first: before any schema is built
import './ui/page.css';
import './page.css';
import { initializeWasm } from '@automerge/automerge/slim/next';
import { JoinLinkError, joinTarget } from './peer/join-target.js';
import { startPagePeer } from './peer/page-peer.js';
import type { PagePeer } from './peer-api.js';
import { mountApp } from './ui/app.js';

declare global {
  interface Window {
    /** The running peer, for tests and for a person debugging in the console. */
    chorusPeer?: PagePeer;
  }
}

function fatal(root: HTMLElement, message: string): void {
  root.replaceChildren();
  const p = document.createElement('p');
  p.className = 'chorus-fatal';
  p.setAttribute('role', 'alert');
  p.textContent = message;
  root.append(p);
}

async function main(): Promise<void> {
  const root = document.getElementById('app') ?? document.body;
  let target;
  try {
    target = joinTarget(location, document);
  } catch (e) {
    fatal(root, e instanceof JoinLinkError ? e.message : `This page could not start: ${(e as Error).message}`);
    return;
  }
  // The link's secret is not kept in the address bar's history entry beyond this page.
  try {
    await initializeWasm(new URL('automerge.wasm', location.href).href);
  } catch (e) {
    fatal(root, `This browser could not start Chorus's document engine (WebAssembly): ${(e as Error).message}. Try a current Chrome, Firefox or Safari.`);
    return;
  }
  let peer;
  try {
    peer = await startPagePeer(target, { secure: location.protocol === 'https:' });
  } catch (e) {
    fatal(root, `Chorus could not start in this tab: ${(e as Error).message}. A private window may block the storage it needs (IndexedDB); try a normal window.`);
    return;
  }
  window.chorusPeer = peer;
  root.classList.remove('loading');
  mountApp(root, peer);
}

void main();
