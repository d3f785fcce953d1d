/**
 * Failures a person can act on, raised anywhere in the daemon. The editor edge maps each kind to
 * a protocol error code; the message is shown to the person as it is.
 */
export type FailureKind =
  | 'outsideProject'
  | 'notFound'
  | 'notOpen'
  | 'badPosition'
  | 'notEditable'
  | 'readOnly'
  | 'tooLarge'
  | 'session'
  | 'unknownPeer'
  | 'invalid'
  /** The disk refused to save (full, quota): the change was not made. */
  | 'storage';

/**
 * What an editor may act on besides the kind, sent as the error's `data.reason`: `notArrived`, a
 * file of the session whose content has not come from the peers yet (a `notFound` that is no
 * deletion: protocol errors.ts, FileNotFound).
 */
export type FailureReason = 'notArrived';

export class Failure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly reason?: FailureReason,
  ) {
    super(message);
  }
}

/** The failure for a file of the session whose content has not arrived from the peers yet; `then` says what to do. */
export function notArrived(path: string, then: string): Failure {
  return new Failure('notFound', `${path} has not arrived from the other peers yet; ${then}`, 'notArrived');
}
