/**
 * The platform-neutral core of Chorus (decision 065): the CRDT model, the Workspace with its
 * presence, undo and change route, replication, the peer protocol, the handshake and its
 * encryption. These modules import no Node module and use no
 * Node-only global; what differs per platform (disk, watcher, sockets, WebRTC, the host id) is
 * injected: the overlay takes Transports (net/transports.ts), the daemon's are in
 * net/node-transports.ts; the Workspace takes a DocumentStore and a BlobStore (decision 090), the
 * daemon's are workspace/storage.ts and workspace/fs-blob-store.ts. A browser page bundles this entry with esbuild (issue 17).
 *
 * test/daemon/core-imports.test.ts walks everything this file reaches and fails, naming the
 * import chain, if any of it imports fs, os, net, ws, chokidar, node-datachannel or another Node
 * built-in, and bundles it for the browser.
 */

// Peer network: overlay, transports contract, handshake and encryption, credentials, relay.
export { Overlay, meshNeighbours, FULL_MESH_UP_TO, MAX_PAYLOAD_BYTES, type OverlayOptions, type OverlayEvents, type PeerInfo, type PeerPath } from './net/overlay.js';
export type { Listener, Transports } from './net/transports.js';
export { isSignal, type Signal, type SignalChannel, type WebRtcOptions } from './net/webrtc-signals.js';
export { chunksOf, closeChunk, Reassembler, CHUNK_BYTES, type Received } from './net/datachannel-frames.js';
export { DataChannelLink, type DataChannelPort } from './net/datachannel-link.js';
export { BaseLink, type Link, type LinkEvents, type LinkKind } from './net/link.js';
export { MemoryLink, memoryPair } from './net/memory.js';
export { secureHandshake, SecureLink, HandshakeError, MessageTooLargeError, MAX_MESSAGE_BYTES, type SecureOptions } from './net/secure.js';
export { writerKeys, readOnlyKeys, withoutWriter, signAsWriter, isWriterSignature, SECRET_BYTES, type SessionKeys } from './net/credentials.js';
export { encodeJoinCode, decodeJoinCode, isReadOnly, JoinCodeError, JOIN_CODE_PREFIX, type JoinCode } from './net/join-code.js';
export { dialable, tagAddr } from './net/host-addrs.js';
export { RelayClient, RelayLink, type RelayConnectOptions } from './net/relay-client.js';
export { relayRoomId } from './net/relay-protocol.js';
export { Backoff } from './net/backoff.js';
export { Flood, type FloodDelivery, type FloodLinks } from './net/flood.js';

// The project as CRDTs with its presence, undo and change route, over the store contract (decision
// 090): the page runs the same Workspace, Presence and UndoManager as the daemon, on its own store.
export { runActor, sameDaemon } from './workspace/actors.js';
export { Workspace, conflictPath, DEFAULT_LIVE_LIMIT, MAX_ORPHAN_DOCS, type Origin, type TextEvent, type FilesEvent, type DirsEvent, type ContentSource, type WorkspaceEvents } from './workspace/workspace.js';
export { BaseDocumentStore, StorageFailed, UnloadableState, COMPACT_AFTER, MARKS_KEPT, checkDocId, describeRefusal, asStorageFailed, type DocumentStore, type SavedState } from './workspace/document-store.js';
export { MemoryStore, memoryState, type MemoryState, type HeldDocument } from './workspace/memory-store.js';
export { BlobStore, MemoryBlobStore, hashBytes, type BlobEvents } from './workspace/blob-store.js';
export { Presence, carryPresence, PRESENCE_TOPIC, LEAVE_TOPIC, type Span, type PeerView, type CursorView, type PresenceEvents } from './presence/presence.js';
export { colorFor } from './presence/colors.js';
export { nameProblem, NAME_MAX_LENGTH } from './presence/person-name.js';
export { UndoManager } from './editor/undo-manager.js';
export { UndoHistory } from './editor/undo-history.js';
export { ChangeRoute, type ChangeSink, type RouteSteps } from './change-route.js';
export { decodeText } from './text/decode-text.js';
export { sha256, sha256Hex, useSha256, type Sha256 } from './digest.js';
export { soon, unref, type Timer } from './timers.js';
export { Failure } from './errors.js';

// Replication: the sync protocol between peers and the checks on what peers send.
export { Replicator, type ReplicatedDocs, type ReplicatedWorkspace, type PeerNetwork, type ReplicatorEvents } from './sync/replicator.js';
export { encodePeerMessage, decodePeerMessage, PeerMessageError, type PeerMessage } from './sync/peer-messages.js';
export { checkChanges, decodeVerified, verifyHeader, ChangeRefused, docKind, type DocKind } from './sync/change-check.js';

// The CRDT model: text documents, the file index, extension data, path rules.
export { TextDoc, contentHash, type RawChange } from './workspace/text-doc.js';
export { FileIndex, INDEX_DOC_ID, newFileId, IndexChangeRefused, type FileEntry, type DirEntry, type IndexDiff } from './workspace/file-index.js';
export { entryProblem, rootProblem } from './workspace/index-schema.js';
export { ExtensionData, DATA_DOC_ID, type DataChange } from './workspace/extension-data.js';
export { pathProblem, isProjectPath, reservedIn, VCS_METADATA, CHORUS_DIR } from './workspace/path-rules.js';
export { privateByDefault } from './workspace/private-by-default.js';

// Text: operations, positions, lines, diffs.
export { applyOp, composeOps, transformOp, invertOp, isNoop, opToSplices, splicesToOp, opToReplacements, type TextOp, type Splice, type Replacement } from './text/text-op.js';
export { toOffset, toPosition, advance, unitLength, PositionError, type Encoding, type LineChar } from './text/positions.js';
export { LineIndex } from './text/line-index.js';
export { diffToOp } from './text/diff-op.js';
