// Generated from protocol/src by protocol/scripts/generate.mjs; do not edit.
// Each method of methods.ts as a handle without its schemas (handle.ts); see handles.ts.
import { handle } from './handle.js';
import type * as M from './methods.js';

export const Initialize = handle<typeof M.Initialize>('request', 'initialize', 'editorToDaemon');
export const Shutdown = handle<typeof M.Shutdown>('request', 'shutdown', 'editorToDaemon');
export const BufferOpen = handle<typeof M.BufferOpen>('request', 'buffer/open', 'editorToDaemon');
export const BufferEdit = handle<typeof M.BufferEdit>('request', 'buffer/edit', 'editorToDaemon');
export const BufferClose = handle<typeof M.BufferClose>('request', 'buffer/close', 'editorToDaemon');
export const BufferSave = handle<typeof M.BufferSave>('request', 'buffer/save', 'editorToDaemon');
export const BufferDidChange = handle<typeof M.BufferDidChange>('notification', 'buffer/didChange', 'daemonToEditor');
export const BufferDidRename = handle<typeof M.BufferDidRename>('notification', 'buffer/didRename', 'daemonToEditor');
export const BufferUndo = handle<typeof M.BufferUndo>('request', 'buffer/undo', 'editorToDaemon');
export const BufferRedo = handle<typeof M.BufferRedo>('request', 'buffer/redo', 'editorToDaemon');
export const SessionStatus = handle<typeof M.SessionStatus>('request', 'session/status', 'editorToDaemon');
export const SessionShare = handle<typeof M.SessionShare>('request', 'session/share', 'editorToDaemon');
export const SessionJoin = handle<typeof M.SessionJoin>('request', 'session/join', 'editorToDaemon');
export const SessionProgress = handle<typeof M.SessionProgress>('notification', 'session/progress', 'daemonToEditor');
export const SessionNotice = handle<typeof M.SessionNotice>('notification', 'session/notice', 'daemonToEditor');
export const WorkspaceFiles = handle<typeof M.WorkspaceFiles>('request', 'workspace/files', 'editorToDaemon');
export const WorkspaceDidChange = handle<typeof M.WorkspaceDidChange>('notification', 'workspace/didChange', 'daemonToEditor');
export const CursorSet = handle<typeof M.CursorSet>('notification', 'cursor/set', 'editorToDaemon');
export const ViewportSet = handle<typeof M.ViewportSet>('notification', 'viewport/set', 'editorToDaemon');
export const CursorDidChange = handle<typeof M.CursorDidChange>('notification', 'cursor/didChange', 'daemonToEditor');
export const PeerDidJoin = handle<typeof M.PeerDidJoin>('notification', 'peer/didJoin', 'daemonToEditor');
export const PeerDidLeave = handle<typeof M.PeerDidLeave>('notification', 'peer/didLeave', 'daemonToEditor');
export const FollowStart = handle<typeof M.FollowStart>('request', 'follow/start', 'editorToDaemon');
export const FollowStop = handle<typeof M.FollowStop>('request', 'follow/stop', 'editorToDaemon');
export const FollowReveal = handle<typeof M.FollowReveal>('notification', 'follow/reveal', 'daemonToEditor');
export const FollowDidStop = handle<typeof M.FollowDidStop>('notification', 'follow/didStop', 'daemonToEditor');
export const DataSet = handle<typeof M.DataSet>('request', 'data/set', 'editorToDaemon');
export const DataGet = handle<typeof M.DataGet>('request', 'data/get', 'editorToDaemon');
export const DataDidChange = handle<typeof M.DataDidChange>('notification', 'data/didChange', 'daemonToEditor');
export const MessageBroadcast = handle<typeof M.MessageBroadcast>('request', 'message/broadcast', 'editorToDaemon');
export const MessageDidReceive = handle<typeof M.MessageDidReceive>('notification', 'message/didReceive', 'daemonToEditor');
