// Issue 10: a bounded fast-check run (fixed seed) over index changes, peer frames and editor
// params. Whatever comes, the index holds only valid entries, the daemon never answers an editor
// with an internal error, and the victim still serves, restarts and lets a fresh peer join.
import { createHash } from 'node:crypto';
import * as A from '@automerge/automerge/next';
import * as P from '@chorus/protocol';
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { decodeJoinCode, encodeJoinCode } from '../../daemon/src/net/join-code.js';
import { configKeys } from '../../daemon/src/session/session-file.js';
import { encodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import { FileIndex, IndexChangeRefused } from '../../daemon/src/workspace/file-index.js';
import { entryProblem } from '../../daemon/src/workspace/index-schema.js';
import { startDaemon } from '../support/in-process.js';
import { MaliciousEditor } from '../support/malicious-editor.js';
import { MaliciousPeer } from '../support/malicious-peer.js';
import { tempProject } from '../support/project-dir.js';
import { assertVictimHealthy, guardFolder } from '../support/victim.js';
import { stopAll } from './peer-helpers.js';

const SEED = 1010;
let daemons: Daemon[] = [];
afterEach(async () => ([daemons] = await stopAll(daemons, [])));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const fieldValue = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(''), fc.constant(sha('x')), fc.constant('a/.git/config'), fc.constant('ok.txt'));
const entry = fc.record(
  { path: fieldValue, hash: fieldValue, size: fieldValue, opaque: fieldValue, exec: fieldValue, extra: fieldValue },
  { requiredKeys: [] },
);

it('index changes: any entry a peer writes is applied only if valid, else refused whole', () => {
  const base = A.change(A.init<{ files: Record<string, unknown> }>(), (d) => (d.files = { [`f${'1'.repeat(24)}`]: { path: 'a.txt', hash: sha('a'), size: 1 } }));
  const saved = A.save(base);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.oneof(fc.constant(`f${'2'.repeat(24)}`), fc.constant(`f${'1'.repeat(24)}`), fc.string({ maxLength: 30 })), entry), { maxLength: 4 }), (writes) => {
      const index = new FileIndex(saved, [], 'aa'.repeat(16));
      const before = JSON.stringify(index.entries());
      const change = A.getLastLocalChange(A.change(A.load<{ files: Record<string, unknown> }>(saved), (d) => writes.forEach(([id, e]) => (d.files[id] = e))));
      if (!change) return;
      const valid = writes.every(([id], i) => entryProblem('files', id, writes.filter(([j]) => j === id).at(-1)![1]) === undefined || writes.findIndex(([j]) => j === id) !== i);
      try {
        index.applyRemote([change]);
        expect(valid).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(IndexChangeRefused);
        expect(JSON.stringify(index.entries())).toBe(before);
      }
      for (const [id, e] of index.entries()) expect(entryProblem('files', id, e)).toBeUndefined();
      A.load(index.save()); // what it would save loads
    }),
    { seed: SEED, numRuns: 300 },
  );
});

it('peer frames: crafted and random messages from a writer never break the host', async () => {
  const h = await startDaemon(tempProject({ 'a.txt': 'a\n', 'sub/.git/HEAD': 'x\n' }), 'host');
  daemons.push(h);
  const guard = guardFolder(h.project.root);
  const code = decodeJoinCode(await h.share({ host: '127.0.0.1', webrtc: false }));
  const m = await MaliciousPeer.join(encodeJoinCode({ ...code, keys: configKeys(h.session.session!) }), h.identity.id);
  const id = h.workspace.index.idOf('a.txt')!;
  const docId = fc.constantFrom('index', 'data', id, `f${'9'.repeat(24)}`);
  const change = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat(200), fc.integer({ min: 1, max: 255 })).map(([at, bit]) => {
      const c = new Uint8Array(A.getLastLocalChange(A.change(A.load<{ files: Record<string, unknown> }>(h.workspace.index.save()), (d) => (d.files[`f${'3'.repeat(24)}`] = { path: 'b.txt', hash: sha('b'), size: 1 })))!);
      c[at % c.length]! ^= bit;
      return c;
    }),
  );
  const frame = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.record({ doc: docId, changes: fc.array(change, { maxLength: 3 }) }).map(({ doc, changes }) => encodePeerMessage({ kind: 'changes', doc, changes })),
    fc.record({ doc: docId, data: fc.uint8Array({ maxLength: 200 }) }).map(({ doc, data }) => encodePeerMessage({ kind: 'sync', doc, data })),
    fc.record({ doc: docId, data: fc.uint8Array({ maxLength: 200 }) }).map(({ doc, data }) => encodePeerMessage({ kind: 'snapshot', doc, data })),
    fc.record({ topic: fc.constantFrom('presence', 'message', 'leave', 'x'), body: fc.anything() }).map((e) => encodePeerMessage({ kind: 'ephemeral', ...e })),
    fc.array(fc.string({ maxLength: 70 }), { maxLength: 5 }).map((docs) => encodePeerMessage({ kind: 'docs', docs: docs as string[] })),
  );
  for (const f of fc.sample(frame, { seed: SEED, numRuns: 400 })) m.send(f);
  await new Promise((r) => setTimeout(r, 1500));
  await m.close();
  expect(h.workspace.index.entries().map(([, e]) => e.path)).toEqual(['a.txt']);
  daemons.push(...(await assertVictimHealthy(h, guard)));
}, 120_000);

it('editor params: any params for any method get a result or a clear error, never an internal one', async () => {
  const h = await startDaemon(tempProject({ 'a.txt': 'a\n', 'sub/.git/HEAD': 'x\n' }), 'host');
  daemons.push(h);
  const guard = guardFolder(h.project.root);
  const e = await MaliciousEditor.connect(h.project.socketPath);
  await e.init();
  const methods = P.allMethods.filter((d) => d.kind === 'request' && d.direction === 'editorToDaemon' && ![P.Shutdown, P.SessionShare, P.SessionJoin, P.Initialize].includes(d as never));
  const pathLike = fc.oneof(fc.constantFrom('a.txt', 'new.txt', '../x', '/etc/passwd', 'sub/.git/config', '.chorus/x', ''), fc.string({ maxLength: 20 }));
  const params = fc.oneof(
    fc.anything(),
    fc.record({ path: pathLike, content: fc.string({ maxLength: 30 }), revision: fc.integer(), changes: fc.anything(), namespace: fc.string({ maxLength: 10 }), key: fc.string({ maxLength: 10 }), value: fc.anything(), peer: fc.string(), payload: fc.anything() }, { requiredKeys: [] }),
  );
  const cases = fc.sample(fc.tuple(fc.constantFrom(...methods), params), { seed: SEED, numRuns: 300 });
  for (const [def, p] of cases) {
    const a = await e.request(def.method, p);
    expect(a.error?.code, `${def.method} ${JSON.stringify(p)?.slice(0, 200)}: ${a.error?.message}`).not.toBe(P.ErrorCodes.InternalError);
  }
  e.close();
  daemons.push(...(await assertVictimHealthy(h, guard)));
}, 120_000);
