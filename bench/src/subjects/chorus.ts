// ============================================================================================
// CHORUS SUBJECTS GO HERE — not yet measured.
//
// "Chorus over WebSocket" and "Chorus over WebRTC": keystrokes typed through the editor protocol
// (JSON-RPC, LSP framing, over `chorus connect <dir>` stdio, `utf-16` positions) into daemon A,
// delivered over a real loopback link of that transport to daemon B (`chorus share` on A,
// `chorus join <code>` on B), and received by an editor connected to daemon B.
//
// To add one: export a `Subject` (see ../harness.ts) whose `setup` starts the daemons and the
// editors for `peers` replicas holding `start` (for an `old` start, load a document with that
// history rather than typing 250,000 keystrokes through the protocol), whose `type` sends one
// `buffer/edit`, and whose receivers report arrivals when their editor applies a
// `buffer/didChange` (an editor sees text, not keystrokes: `ArrivalCounter` turns text into
// counts). `peakRss` returns the daemons' peak RSS (`peakRssOf(pid)` in ./yjs.ts reads it).
// Then turn its registry entry below from `pending` into `ready`. The scripted editor in
// shared/checks/editor.mjs and the share/join flow in shared/checks/peers.mjs work as references.
//
// They stay out of the run (not faked) until the daemon has peers: at the time of writing,
// daemon/src was empty.
// ============================================================================================

import type { RegistryEntry } from '../registry.js';

export const chorusEntries: RegistryEntry[] = [
  {
    status: 'pending',
    id: 'chorus-websocket',
    name: 'Chorus over WebSocket',
    reason: 'daemon peers have not landed yet (needs `chorus share`/`chorus join` with a WebSocket link)',
  },
  {
    status: 'pending',
    id: 'chorus-webrtc',
    name: 'Chorus over WebRTC',
    reason: 'daemon peers have not landed yet (needs `chorus share`/`chorus join` with a WebRTC data channel)',
  },
];
