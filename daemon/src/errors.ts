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

export class Failure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}
