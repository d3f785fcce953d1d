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

export function request<const M extends string, P extends z.ZodType, R extends z.ZodType>(
  method: M,
  direction: Direction,
  doc: string,
  params: P,
  result: R,
): RequestDef<P, R> & { method: M } {
  return { kind: 'request', method, direction, doc, params, result, type: new RequestType(method) };
}

export function notification<const M extends string, P extends z.ZodType>(
  method: M,
  direction: Direction,
  doc: string,
  params: P,
): NotificationDef<P> & { method: M } {
  return { kind: 'notification', method, direction, doc, params, type: new NotificationType(method) };
}

export type AnyMethodDef = RequestDef<z.ZodType, z.ZodType> | NotificationDef<z.ZodType>;
export type ParamsOf<D extends AnyMethodDef> = z.output<D['params']>;
export type ResultOf<D extends RequestDef<z.ZodType, z.ZodType>> = z.output<D['result']>;
