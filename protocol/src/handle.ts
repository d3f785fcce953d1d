import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { AnyMethodDef } from './define.js';

/**
 * A method of the protocol without its schemas: its name, kind, direction and typed
 * vscode-jsonrpc handle (`type`), the same as the declaration's in methods.ts. For code that only
 * sends and receives, and trusts the daemon to validate: the `chorus` command (see handles.ts).
 */
export type Handle<D extends AnyMethodDef> = Pick<D, 'kind' | 'method' | 'direction' | 'type'>;

/**
 * The handle of the method declared as `D` in methods.ts. The generated method-handles.ts calls
 * it once per method; `method` and `kind` must be `D`'s own (a stale or mistyped name fails the
 * build, not a request at run time).
 */
export function handle<D extends AnyMethodDef>(kind: D['kind'], method: D['method'], direction: D['direction']): Handle<D> {
  const type = kind === 'request' ? new RequestType(method) : new NotificationType(method);
  return { kind, method, direction, type } as Handle<D>;
}
