/**
 * JSON-RPC plumbing shared by every editor connection: a strict message decoder (so malformed
 * frames get an error answer instead of silence), params validation against the protocol's
 * schemas, and the mapping from daemon failures to protocol error codes.
 */
import { z } from 'zod';
import type { NotificationDef, RequestDef } from '@chorus/protocol';
// The codes from the schema-free entry: `chorus lsp` uses this file's framing without loading zod (decision 203).
import { ErrorCodes } from '@chorus/protocol/handles';
import { CancellationToken, ResponseError, type DataCallback, type Disposable, type Message, type MessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';
import { Failure, type FailureKind } from '../errors.js';
import type { MessageOrder, RequestKind } from './request-order.js';
import { jsonDepth } from '../text/json-depth.js';
import { tracePoint } from '../trace-points.js';

/** Deepest nesting of arrays and objects an editor message may have (params are shallow). */
export const MAX_JSON_DEPTH = 64;

const codeOf: Record<FailureKind, number> = {
  outsideProject: ErrorCodes.PathOutsideProject,
  notFound: ErrorCodes.FileNotFound,
  notOpen: ErrorCodes.BufferNotOpen,
  badPosition: ErrorCodes.PositionOutOfRange,
  notEditable: ErrorCodes.FileNotEditable,
  readOnly: ErrorCodes.ReadOnly,
  tooLarge: ErrorCodes.TooLarge,
  session: ErrorCodes.SessionError,
  unknownPeer: ErrorCodes.PeerNotFound,
  invalid: ErrorCodes.InvalidParams,
  storage: ErrorCodes.StorageFailed,
};

/** A frame whose body is not a JSON-RPC message; carries the id when one could be read. */
export class BadFrame extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly id: string | number | null,
  ) {
    super(message);
  }
}

/** Stateless between calls (no `stream` option), so one serves every connection. */
const utf8 = new TextDecoder('utf-8');

/**
 * One editor message from its body's bytes: JSON, a JSON-RPC 2.0 object (no batches), nested at
 * most MAX_JSON_DEPTH deep, with a string method or else a result or error. Throws BadFrame (with
 * the id when one could be read) so the editor gets an error answer instead of silence.
 */
function decodeMessage(buffer: Uint8Array): Message {
  let msg: unknown;
  const text = utf8.decode(buffer);
  try {
    msg = JSON.parse(text);
  } catch (e) {
    throw new BadFrame(`could not parse the message as JSON (${(e as Error).message}); send Content-Length headers followed by one JSON-RPC object`, ErrorCodes.ParseError, null);
  }
  const m = msg as Record<string, unknown>;
  const id = m && typeof m === 'object' && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : null;
  if (!m || typeof m !== 'object' || Array.isArray(m) || m.jsonrpc !== '2.0') {
    throw new BadFrame('the message is not a JSON-RPC 2.0 object (it needs "jsonrpc": "2.0"); batches are not supported', ErrorCodes.InvalidRequest, id);
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new BadFrame(`the message nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels; no Chorus method takes such params`, ErrorCodes.InvalidParams, id);
  }
  // JSON-RPC 2.0: an id is a string, a number or null. Any other was answered with silence (the
  // library could not match it), which leaves a client waiting for ever.
  if ('id' in m && m.id !== null && typeof m.id !== 'string' && typeof m.id !== 'number') {
    throw new BadFrame('"id" must be a string, a number or null', ErrorCodes.InvalidRequest, null);
  }
  if (m.method !== undefined && typeof m.method !== 'string') {
    throw new BadFrame('"method" must be a string', ErrorCodes.InvalidRequest, id);
  }
  if (m.method === undefined && !('result' in m) && !('error' in m)) {
    throw new BadFrame('the message has neither a method nor a result', ErrorCodes.InvalidRequest, id);
  }
  return msg as Message;
}

/** `decodeMessage` as vscode-jsonrpc's content-type decoder, for a stream reader (the LSP server's stdio; editor sockets use `orderedDecoder`). */
export const strictDecoder = {
  name: 'application/json',
  async decode(buffer: Uint8Array): Promise<never> {
    return decodeMessage(buffer) as never;
  },
};

/**
 * The method of the request that stands, in an editor connection's queue, for a frame the daemon
 * could not read as a message but whose id it could (see `orderedDecoder`). A client that sends
 * this name itself is answered as for any unknown method.
 */
const BAD_FRAME_METHOD = '$/chorus/unreadableMessage';
/** Where the stand-in request carries its BadFrame: a symbol, which no JSON can hold. */
const BAD_FRAME = Symbol('bad frame');

/**
 * `strictDecoder` for an editor connection, whose answers keep the order of the requests
 * (decision 187): a frame that could not be read but has an id becomes a stand-in request that
 * takes its place in the queue (answered by `onUnknown`'s binding with the BadFrame's code and
 * message), rather than an error answered at once, ahead of the answers of the requests before
 * it. Without an id nothing can be matched, and the error is thrown as by `strictDecoder`.
 */
export const orderedDecoder = {
  name: 'application/json',
  async decode(buffer: Uint8Array): Promise<never> {
    try {
      return decodeMessage(buffer) as never;
    } catch (e) {
      if (!(e instanceof BadFrame) || e.id === null) throw e;
      return standIn(e);
    }
  },
};

/** The stand-in request for `bad` (which has an id), answered with its error in its turn. */
function standIn(bad: BadFrame): never {
  return { jsonrpc: '2.0', id: bad.id, method: BAD_FRAME_METHOD, params: { [BAD_FRAME]: bad } } as never;
}

function describeIssues(method: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : 'params'}: ${i.message}`);
  return `invalid params for ${method}: ${parts.join('; ')}`;
}

/** Where each connection logs internal errors (see `logInternalErrors`). */
const internalLogs = new WeakMap<MessageConnection, (msg: string) => void>();

/** Log every internal error a request of `conn` answers with, with its stack. */
export function logInternalErrors(conn: MessageConnection, log: (msg: string) => void): void {
  internalLogs.set(conn, log);
}

/**
 * The error answer for a failure. Anything that is not a Failure or a ResponseError is a bug:
 * the editor is told so, and the log (when given) gets the stack, since "see the log" must lead
 * somewhere.
 */
export function toResponseError(e: unknown, method?: string, log?: (msg: string) => void): ResponseError<{ reason: string } | undefined> {
  if (e instanceof ResponseError) return e;
  if (e instanceof Failure) return new ResponseError(codeOf[e.kind], e.message, e.reason === undefined ? undefined : { reason: e.reason });
  const err = e as Error;
  log?.(`internal error in ${method ?? 'a request'}: ${err?.stack ?? String(e)}`);
  return new ResponseError(ErrorCodes.InternalError, `internal error in the daemon: ${err?.message ?? String(e)} (the daemon keeps running; see .chorus/daemon.log)`);
}

/**
 * The params of a message as the editor sent them. vscode-jsonrpc calls a handler with only the
 * cancellation token when a message has no params, so a lone token means "no params".
 */
function paramsOf(args: unknown[]): unknown {
  if (args.length === 0) return undefined;
  if (args.length === 1 && CancellationToken.is(args[0])) return undefined;
  return args[0];
}

/** How `onRequest` and `onNotification` bind a connection's methods. */
export interface Binding {
  conn: MessageConnection;
  /** The connection's order: every handler runs through it (decision 187). */
  order: MessageOrder;
  /** Refuses a request that may not run yet (before initialize); throws a ResponseError. */
  gate: (method: string) => void;
  /** Where a notification that cannot be answered is reported. */
  log: (msg: string) => void;
}

/**
 * Bind a request: in order with the connection's other messages, validate params, run, map
 * failures. `kind` says when later messages may start (see RequestKind); `ordered` by default.
 * `arrived` (optional) is given the valid params as soon as vscode-jsonrpc hands the request on,
 * before earlier messages' work is done: for what a request tells that must be known at once
 * (VS Code's declared save, decision 271). It must not throw or change the text.
 */
export function onRequest<P extends z.ZodType, R extends z.ZodType>(
  b: Binding,
  def: RequestDef<P, R>,
  handler: (params: z.output<P>) => z.output<R> | Promise<z.output<R>>,
  kind: RequestKind = 'ordered',
  arrived?: (params: z.output<P>) => void,
): void {
  const fail = (e: unknown): never => {
    throw toResponseError(e, def.method, internalLogs.get(b.conn));
  };
  // Not an async function: vscode-jsonrpc must await the very promise MessageOrder returns (see
  // MessageOrder.request), and a handler that answers at once stays free of promises.
  b.conn.onRequest(def.method, (...args: unknown[]) => {
    if (arrived) {
      // What the request tells at once, before earlier messages' work is done. Only valid params
      // of an initialized connection; the ordered run below answers everything else.
      try {
        b.gate(def.method);
        const parsed = def.params.safeParse(paramsOf(args));
        if (parsed.success) arrived(parsed.data);
      } catch {
        // refused or failed: said by the run below, in order
      }
    }
    return b.order.request(kind, () => {
      tracePoint('request');
      try {
        const raw = paramsOf(args);
        b.gate(def.method);
        const parsed = def.params.safeParse(raw);
        if (!parsed.success) throw new ResponseError(ErrorCodes.InvalidParams, describeIssues(def.method, parsed.error));
        const result = handler(parsed.data);
        return result instanceof Promise ? result.catch(fail) : result;
      } catch (e) {
        return fail(e);
      }
    });
  });
}

/**
 * Bind a notification, in order with the connection's other messages. One with invalid params
 * cannot be answered (JSON-RPC): it is dropped, the log gets the method and what was wrong, and
 * `invalid` (when given) gets the same words, for telling the editor (decision 191).
 */
export function onNotification<P extends z.ZodType>(
  b: Binding,
  def: NotificationDef<P>,
  handler: (params: z.output<P>) => void,
  invalid?: (method: string, problem: string) => void,
): void {
  const { log } = b;
  b.conn.onNotification(def.method, (...args: unknown[]) =>
    b.order.notification(() => {
      const raw = paramsOf(args);
      const parsed = def.params.safeParse(raw);
      if (!parsed.success) {
        const problem = describeIssues(def.method, parsed.error);
        log(`${problem} (a notification: dropped, not answered)`);
        return invalid?.(def.method, problem);
      }
      try {
        handler(parsed.data);
      } catch (e) {
        if (e instanceof Failure) log(`${def.method} refused: ${e.message}`);
        else log(`${def.method} failed (internal error): ${(e as Error)?.stack ?? String(e)}`);
      }
    }),
  );
}

/**
 * Answer requests for methods this daemon does not know with -32601 in Chorus's words, in order
 * with the others (vscode-jsonrpc's own answer was "Unhandled method nope"), and the stand-ins of
 * unreadable frames (`orderedDecoder`) with their error, in their place; log the first of
 * each unknown notification (which cannot be answered). `daemon` names this daemon, e.g.
 * `chorus 0.1.0, protocol version 3`.
 */
export function onUnknown(b: Binding, daemon: string): void {
  b.conn.onRequest((method: string, params: unknown) =>
    b.order.request('ordered', () => {
      const bad = method === BAD_FRAME_METHOD && params !== null && typeof params === 'object' ? (params as { [BAD_FRAME]?: BadFrame })[BAD_FRAME] : undefined;
      if (bad !== undefined) throw new ResponseError(bad.code, bad.message);
      throw new ResponseError(ErrorCodes.MethodNotFound, unknownMethod(method, daemon));
    }),
  );
  const told = new Set<string>();
  b.conn.onUnhandledNotification((m) =>
    b.order.notification(() => {
      if (told.has(m.method) || told.size >= 100) return;
      told.add(m.method);
      b.log(`ignored the notification ${JSON.stringify(m.method)}: ${unknownMethod(m.method, daemon)}`);
    }),
  );
}

/** What a person reads when an editor calls `method`, which this daemon (`daemon`) does not know. */
export function unknownMethod(method: string, daemon: string): string {
  return `this daemon (${daemon}) does not know the method ${JSON.stringify(method)}; check the name against the protocol's list of methods, or, if the editor plugin was made for another version of Chorus, update the plugin or chorus so that both speak the same protocol version`;
}

/** Answer a frame the reader could not turn into a message (through the writer, so frames never interleave). */
export function answerBadFrame(writer: MessageWriter, e: BadFrame | Error): void {
  const code = e instanceof BadFrame ? e.code : ErrorCodes.ParseError;
  const id = e instanceof BadFrame ? e.id : null;
  void writer.write({ jsonrpc: '2.0', id, error: { code, message: e.message } } as never).catch(() => undefined);
}

/**
 * A reader that counts the messages it hands to the connection that one of its handlers will take
 * (through MessageOrder): requests and notifications, but not `$/cancelRequest` and `$/progress`,
 * which vscode-jsonrpc handles itself, nor answers. See `MessageOrder.settled`.
 */
export class CountingReader implements MessageReader {
  /** Messages read so far that a handler will take. */
  read = 0;

  constructor(private readonly inner: MessageReader) {}

  get onError() {
    return this.inner.onError;
  }

  get onClose() {
    return this.inner.onClose;
  }

  get onPartialMessage() {
    return this.inner.onPartialMessage;
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message) => {
      const method = (message as { method?: unknown }).method;
      if (typeof method === 'string' && method !== '$/cancelRequest' && method !== '$/progress') this.read++;
      callback(message);
    });
  }

  dispose(): void {
    this.inner.dispose();
  }
}
