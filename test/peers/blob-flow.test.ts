// Decision 100 (issue 13, memory): a joining daemon asks for the blobs of the files it lacks a
// budget at a time (MAX_BLOBS_IN_FLIGHT, MAX_BLOB_BYTES_IN_FLIGHT), not all at once. Pins the bug
// where the joiner asked for every blob of the project in one go, so the sharer read, sealed and
// queued the whole project's bytes at once and both daemons kept that peak as resident memory.
// Real daemons on loopback; the joiner's network is observed (not changed) on its way out and in.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import type { FloodDelivery } from '../../daemon/src/net/flood.js';
import { decodePeerMessage, encodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import { MAX_BLOB_BYTES_IN_FLIGHT, MAX_BLOBS_IN_FLIGHT, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { joinAll, logsOf, startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { stopAll } from './peer-helpers.js';

let daemons: Daemon[] = [];
afterAll(async () => ([daemons] = await stopAll(daemons, [])));

/** Watches the blob requests a replicator makes and the answers it gets: the most outstanding at once. */
class BlobFlowWatch {
  private readonly outstanding = new Set<string>();
  most = { blobs: 0, bytes: 0 };
  wants = 0;
  constructor(private readonly sizes: Map<string, number>) {}

  private note(): void {
    let bytes = 0;
    for (const h of this.outstanding) bytes += this.sizes.get(h) ?? 0;
    this.most = { blobs: Math.max(this.most.blobs, this.outstanding.size), bytes: Math.max(this.most.bytes, bytes) };
  }

  readonly wrap = (net: PeerNetwork): PeerNetwork => ({
    on: ((event: string, fn: (...args: never[]) => void) => {
      if (event !== 'message') return (net.on as (e: string, f: typeof fn) => unknown)(event, fn);
      return net.on('message', (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => {
        const m = decodePeerMessage(data);
        if (m.kind === 'blob') this.outstanding.delete(m.hash);
        if (m.kind === 'lack') for (const h of m.hashes) this.outstanding.delete(h);
        (fn as (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void)(id, data, flood);
      });
    }) as PeerNetwork['on'],
    send: (peerId, data) => {
      const m = decodePeerMessage(data);
      if (m.kind === 'want') {
        this.wants++;
        for (const h of m.hashes) this.outstanding.add(h);
        this.note();
      }
      return net.send(peerId, data);
    },
    broadcast: (data) => net.broadcast(data),
  });
}

it('a join asks for blobs a budget at a time, and every file arrives', async () => {
  // Small files (the count binds) and large ones (the bytes bind), well over one budget each.
  const files: Record<string, string> = {};
  for (let i = 0; i < MAX_BLOBS_IN_FLIGHT * 3; i++) files[`small/f${i}.txt`] = `small file ${i}\n`.repeat(40);
  const big = Math.ceil(MAX_BLOB_BYTES_IN_FLIGHT / 3);
  for (let i = 0; i < 8; i++) files[`big/b${i}.txt`] = `${i}`.repeat(big);
  const sizes = new Map(Object.values(files).map((t) => [crypto.createHash('sha256').update(t).digest('hex'), Buffer.byteLength(t)]));
  const watch = new BlobFlowWatch(sizes);
  const sharerDir = tempProject(files);
  const joinerDir = tempProject();
  daemons = [await startDaemon(sharerDir, 'sharer'), await startDaemon(joinerDir, 'joiner', { wrapNetwork: watch.wrap })];
  await joinAll(daemons[0]!, [daemons[1]!], { webrtc: false });

  for (const [rel, text] of Object.entries(files)) expect(fs.readFileSync(path.join(joinerDir, rel), 'utf8'), rel).toBe(text);
  expect(watch.most.blobs).toBeLessThanOrEqual(MAX_BLOBS_IN_FLIGHT);
  // At most one budget, or one blob alone when it is bigger than the budget.
  expect(watch.most.bytes).toBeLessThanOrEqual(MAX_BLOB_BYTES_IN_FLIGHT);
  expect(watch.wants).toBeGreaterThan(2); // the budget was used up and refilled, not one ask for all
});

/**
 * A sharer that answers a `want` of any of `lost` with `lack` (it lost those blobs, or a hostile
 * member): its replicator never sees those requests, and the joiner hears `lack` for them.
 */
const lacking = (lost: Set<string>) => (net: PeerNetwork): PeerNetwork => {
  return {
    on: ((event: string, fn: (...args: never[]) => void) => {
      if (event !== 'message') return (net.on as (e: string, f: typeof fn) => unknown)(event, fn);
      return net.on('message', (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => {
        const m = decodePeerMessage(data);
        if (m.kind === 'want' && m.hashes.some((h) => lost.has(h))) net.send(id, encodePeerMessage({ kind: 'lack', hashes: m.hashes }));
        else (fn as (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void)(id, data, flood);
      });
    }) as PeerNetwork['on'],
    send: (peerId, data) => net.send(peerId, data),
    broadcast: (data) => net.broadcast(data),
  };
};

it('a file whose content no connected peer can send does not hold the join: the join says so, and the file comes with its next content', async () => {
  const sharerDir = tempProject({ 'kept.txt': 'first\n' });
  const joinerDir = tempProject();
  const lost = new Set([crypto.createHash('sha256').update('first\n').digest('hex')]);
  const sharer = await startDaemon(sharerDir, 'sharer', { wrapNetwork: lacking(lost) });
  const joiner = await startDaemon(joinerDir, 'joiner');
  daemons.push(sharer, joiner);
  const code = await sharer.share({ host: '127.0.0.1', webrtc: false });
  const joined = await joiner.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);

  expect(joined).toEqual({ files: 1, bytes: 6, waiting: 1 });
  expect(logsOf(joiner).filter((l) => l.includes('kept.txt') && l.includes('no connected peer'))).toHaveLength(1);
  expect(fs.existsSync(path.join(joinerDir, 'kept.txt'))).toBe(false);
  // The file's next content reaches the joiner (as an edit on the sharer would), and is written.
  fs.writeFileSync(path.join(sharerDir, 'kept.txt'), 'second\n');
  await waitForFile(path.join(joinerDir, 'kept.txt'), (t) => t === 'second\n', 'kept.txt written on the joiner with its next content');
});
