// The stack people pick instead: Yjs with y-websocket. A y-websocket server in its own process on
// loopback; one sender client and `peers - 1` receiver clients in the bench process, each with its
// own Y.Doc, talking to the server over real WebSockets (BroadcastChannel off, so nothing
// bypasses the server). Each keystroke is one Y.Text transaction, hence one update on the wire.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Session, SetupOptions, StartState, Subject } from '../harness.js';
import type { Keystroke } from '../traces.js';

const serverScript = fileURLToPath(new URL('./yjs-server.js', import.meta.url));

/** Peak RSS (VmHWM) of a process, bytes; undefined where /proc is missing. */
export async function peakRssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function startServer(): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ proc, port: (JSON.parse(line) as { port: number }).port });
    });
    proc.on('exit', (code) => reject(new Error(`y-websocket server exited (${code}) before listening`)));
  });
}

/** Encoded Yjs state holding `start`, each history keystroke its own transaction; built once. */
const built = new Map<string, Uint8Array>();
function startUpdate(start: StartState): Uint8Array {
  const key = `${start.trace.name}:${start.history.length}`;
  let u = built.get(key);
  if (!u) {
    const doc = new Y.Doc();
    const t = doc.getText('text');
    if (start.trace.startContent) t.insert(0, start.trace.startContent);
    for (const k of start.history) {
      doc.transact(() => {
        if (k.del > 0) t.delete(k.pos, k.del);
        if (k.insert) t.insert(k.pos, k.insert);
      });
    }
    if (t.toString() !== start.text) throw new Error(`${key}: built Y.Doc differs from the trace`);
    u = Y.encodeStateAsUpdate(doc);
    built.set(key, u);
    doc.destroy();
  }
  return u;
}

function connect(port: number, room: string, doc: Y.Doc): Promise<WebsocketProvider> {
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  return new Promise((resolve) => {
    if (provider.synced) resolve(provider);
    else provider.once('sync', () => resolve(provider));
  });
}

let rooms = 0;

export const yjs: Subject = {
  id: 'yjs-websocket',
  name: 'Yjs 13.6 + y-websocket',
  description: 'Y.Text insert/delete on the sender, y-websocket client → server process → receiver clients',
  maxPeers: 8,
  async setup({ peers, start }: SetupOptions): Promise<Session> {
    const { proc, port } = await startServer();
    const room = `bench-${process.pid}-${rooms++}`;
    const sender = new Y.Doc();
    Y.applyUpdate(sender, startUpdate(start));
    const senderText = sender.getText('text');
    const providers = [await connect(port, room, sender)];
    const docs: Y.Doc[] = [];
    const counts: number[] = [];
    let cb: (r: number, count: number) => void = () => {};
    for (let r = 0; r < peers - 1; r++) {
      const doc = new Y.Doc();
      const provider = await connect(port, room, doc);
      providers.push(provider);
      // the server answers sync step 1 with the whole state; wait until it is here
      const t = doc.getText('text');
      while (t.toString() !== start.text) await new Promise((res) => setTimeout(res, 5));
      docs.push(doc);
      counts.push(0);
      doc.on('update', (_u: Uint8Array, origin: unknown) => {
        if (origin === provider) cb(r, ++counts[r]!);
      });
    }
    return {
      type(k: Keystroke) {
        sender.transact(() => {
          if (k.del > 0) senderText.delete(k.pos, k.del);
          if (k.insert) senderText.insert(k.pos, k.insert);
        });
      },
      onArrival(f) { cb = f; },
      text: (r) => docs[r]!.getText('text').toString(),
      async peakRss(): Promise<Record<string, number>> {
        const rss = await peakRssOf(proc.pid!);
        return rss === undefined ? {} : { 'y-websocket server': rss };
      },
      async close() {
        for (const p of providers) p.destroy();
        for (const d of [sender, ...docs]) d.destroy();
        proc.kill('SIGTERM');
        await new Promise((res) => (proc.exitCode !== null ? res(null) : proc.once('exit', res)));
      },
    };
  },
};
