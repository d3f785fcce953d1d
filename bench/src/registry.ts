// Every system the benchmark compares, in table order. The first ready entry is the raw floor
// that every other figure is divided by.

import type { Subject } from './harness.js';
import { automerge2, automerge3 } from './subjects/automerge.js';
import { chorusEntries } from './subjects/chorus.js';
import { yjs } from './subjects/yjs.js';

export type RegistryEntry =
  | { status: 'ready'; id: string; name: string; subject: (mode: Mode) => Subject; floor?: boolean }
  | { status: 'pending'; id: string; name: string; reason: string };

/** How long the run is: `quick` (~2 minutes) or `full`. */
export type Mode = 'quick' | 'full';

export const registry: RegistryEntry[] = [
  { status: 'ready', id: automerge2.id, name: automerge2.name, subject: () => automerge2, floor: true },
  // Chorus over WebSocket and over WebRTC (./subjects/chorus.ts): real daemons via the CLI.
  ...chorusEntries,
  { status: 'ready', id: yjs.id, name: yjs.name, subject: () => yjs },
  {
    status: 'ready',
    id: 'automerge-3.5.0',
    name: 'Automerge 3.5.0 raw',
    subject: (mode) => automerge3(mode === 'quick' ? 5 : 15),
  },
];
