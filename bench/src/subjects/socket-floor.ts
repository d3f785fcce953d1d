// The socket floor: Node processes that only move keystrokes over the sockets a Chorus daemon
// uses (an editor's Unix socket, a loopback WebSocket between them, the other editor's Unix
// socket; ../relay-process.ts), typed and received by the same scripted editors as Chorus. With
// N peers, one process sends each keystroke to N−1 others, as a typing daemon in a full mesh does.
// Its CPU per keystroke is what the daemons' design (a process per person, linked by sockets)
// costs before any CRDT, encryption, storage or disk work: the second baseline of
// `npm run bench:keystroke`, next to raw Automerge. The CRDT floor (`crdtFloor`) adds the raw
// Automerge floor's calls on the way: the least latency a daemon per person that keeps the text
// in Automerge can have on this machine, the third baseline.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Session, SetupOptions, Subject } from '../harness.js';
import type { Keystroke } from '../traces.js';
import { BenchEditor, countArrivals } from './chorus-editor.js';
import { removeRoot, tempRoot } from './chorus.js';

const RELAY = fileURLToPath(new URL('../relay-process.js', import.meta.url));

/** Starts one relay process; resolves with it and the first line it prints. `args` may end with `--crdt`. */
function startRelay(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RELAY, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve({ child, line: out.slice(0, nl) });
    });
    child.once('exit', (code) => reject(new Error(`the relay process exited (${code}) before it was ready`)));
  });
}

/** The socket floor, or with `crdt` the CRDT floor (see the file header and relay-process.ts). */
function floorSubject(crdt: boolean): Subject {
  const flag = crdt ? ['--crdt'] : [];
  const id = crdt ? 'crdt-floor' : 'socket-floor';
  return {
    id,
    name: crdt ? 'CRDT floor (Node processes relaying Automerge changes)' : 'socket floor (Node processes relaying, no CRDT)',
    description: crdt
      ? 'as the socket floor, plus one Automerge change per edit in process A (change + splice + getLastLocalChange, sent before the answer) and applyChanges in each other process, its patches to the editor'
      : 'buffer/edit from an editor into process A, a loopback WebSocket to each other process, buffer/didChange to an editor there; nothing else',
    maxPeers: 8,
    async setup({ peers, start }: SetupOptions): Promise<Session> {
      if (peers < 2) throw new Error(`the ${id} needs a sender and at least one receiver`);
      const root = tempRoot(id);
      const textFile = join(root, 'start.txt');
      writeFileSync(textFile, start.text);
      const procs: ChildProcess[] = [];
      const editors: BenchEditor[] = [];
      try {
        const a = await startRelay(['a', join(root, 'a'), textFile, ...flag]);
        procs.push(a.child);
        const bs: ChildProcess[] = [];
        for (let i = 1; i < peers; i++) {
          const b = await startRelay(['b', join(root, `b${i}`), textFile, a.line.trim(), ...flag]);
          procs.push(b.child);
          bs.push(b.child);
        }
        const sender = await BenchEditor.connect(join(root, 'a'));
        editors.push(sender);
        const receivers: BenchEditor[] = [];
        for (let i = 1; i < peers; i++) receivers.push(await BenchEditor.connect(join(root, `b${i}`)));
        editors.push(...receivers);
        await sender.open('doc.txt');
        for (const r of receivers) await r.open('doc.txt');
        const arrivals = countArrivals(receivers, start.text);
        return {
          type(k: Keystroke): void {
            arrivals.counter.typed(k);
            sender.edit(k);
          },
          onArrival(f) { arrivals.onArrival = f; },
          text: (r) => receivers[r]!.text,
          processes: () => ({ sender: a.child.pid!, receivers: bs.map((b) => b.pid!) }),
          peakRss: async () => ({}),
          async close() {
            for (const e of editors) e.close();
            for (const p of procs) p.kill();
            removeRoot(root);
          },
        };
      } catch (e) {
        for (const e2 of editors) e2.close();
        for (const p of procs) p.kill();
        removeRoot(root);
        throw e;
      }
    },
  };
}

export const socketFloor: Subject = floorSubject(false);
export const crdtFloor: Subject = floorSubject(true);
