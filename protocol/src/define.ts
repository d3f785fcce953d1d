import { z } from 'zod';
import { NotificationType, RequestType } from 'vscode-jsonrpc';

/** Who sends a message: an editor to its daemon, or the daemon to its editors. */
export type Direction = 'editorToDaemon' | 'daemonToEditor';

/** One request of the protocol: name, direction, params and result schemas, and a typed handle. */
export interface RequestDef<P extends z.ZodType, R extends z.ZodType> {
  readonly kind: 'request';
  readonly method: string;
  readonly direction: Direction;
  readonly doc: string;
  readonly params: P;
  readonly result: R;
  readonly type: RequestType<z.input<P>, z.output<R>, void>;
}

/** One notification of the protocol: name, direction, params schema, and a typed handle. */
export interface NotificationDef<P extends z.ZodType> {
  readonly kind: 'notification';
  readonly method: string;
  readonly direction: Direction;
  readonly doc: string;
  readonly params: P;
  readonly type: NotificationType<z.input<P>>;
}

/**
 * A schema built on first use. A daemon validates the messages of the methods its editors use,
 * not of all ~30 at load (decision 203): the builders run once, when `params` or `result` is
 * first read, and every later read gets the same schema.
 */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

/** Declare a request; `params` and `result` build its schemas, run on first use (see `once`). */
export function request<const M extends string, P extends z.ZodType, R extends z.ZodType>(
  method: M,
  direction: Direction,
  doc: string,
  params: () => P,
  result: () => R,
): RequestDef<P, R> & { method: M } {
  const p = once(params);
  const r = once(result);
  return {
    kind: 'request',
    method,
    direction,
    doc,
    get params() {
      return p();
    },
    get result() {
      return r();
    },
    type: new RequestType(method),
  };
}

/** Declare a notification; `params` builds its schema, run on first use (see `once`). */
export function notification<const M extends string, P extends z.ZodType>(
  method: M,
  direction: Direction,
  doc: string,
  params: () => P,
): NotificationDef<P> & { method: M } {
  const p = once(params);
  return {
    kind: 'notification',
    method,
    direction,
    doc,
    get params() {
      return p();
    },
    type: new NotificationType(method),
  };
}

export type AnyMethodDef = RequestDef<z.ZodType, z.ZodType> | NotificationDef<z.ZodType>;
export type ParamsOf<D extends AnyMethodDef> = z.output<D['params']>;
export type ResultOf<D extends RequestDef<z.ZodType, z.ZodType>> = z.output<D['result']>;
