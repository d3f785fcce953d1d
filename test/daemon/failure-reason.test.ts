// A file of the session whose content has not come from the peers yet answers FileNotFound like a
// path with no file, so an editor telling the two apart matched the message's words (the Neovim
// plugin's re-open of a buffer whose file was deleted while it was away). The answer now says so
// in `data.reason`, which the protocol documents.
import * as P from '@chorus/protocol';
import { expect, it } from 'vitest';
import { toResponseError } from '../../daemon/src/editor/rpc-edge.js';
import { Failure, notArrived } from '../../daemon/src/errors.js';

it('a file not arrived yet is FileNotFound with data.reason notArrived; any other failure carries no data', () => {
  const late = toResponseError(notArrived('src/a.ts', 'try again in a moment'));
  expect({ code: late.code, message: late.message, data: late.data }).toEqual({
    code: P.ErrorCodes.FileNotFound,
    message: 'src/a.ts has not arrived from the other peers yet; try again in a moment',
    data: { reason: 'notArrived' },
  });
  const missing = toResponseError(new Failure('notFound', 'src/b.ts does not exist in the project; pass content to create it'));
  expect({ code: missing.code, data: missing.data }).toEqual({ code: P.ErrorCodes.FileNotFound, data: undefined });
});
