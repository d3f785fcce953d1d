// The spec's table of limits (protocol/methods.md "Limits", generated from protocol/src/limits.ts)
// states the values the daemon enforces: each daemon constant that is not read from limits.ts is
// pinned to it here, so changing one without the other fails.
import { describe, expect, it } from 'vitest';
import { EditorLimits } from '@chorus/protocol';
import { MAX_EDITOR_FRAME } from '../../daemon/src/editor/frame-guard.js';
import { MAX_JSON_DEPTH } from '../../daemon/src/editor/rpc-edge.js';
import { MAX_MESSAGE_BYTES } from '../../daemon/src/editor/editor-collaboration.js';
import { DEFAULT_LIVE_LIMIT } from '../../daemon/src/workspace/workspace.js';
import { MAX_VALUE_BYTES } from '../../daemon/src/workspace/extension-data.js';
import { NAME_MAX_LENGTH } from '../../daemon/src/presence/person-name.js';
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from '../../daemon/src/disk/long-paths.js';
import { UndoHistory } from '../../daemon/src/editor/undo-history.js';
import { spliceOp } from '../../daemon/src/text/text-op.js';

describe('every limit in the spec is the one the daemon enforces', () => {
  it('the constants', () => {
    expect({
      frameBytes: MAX_EDITOR_FRAME,
      jsonDepth: MAX_JSON_DEPTH,
      liveCharacters: DEFAULT_LIVE_LIMIT,
      dataValueBytes: MAX_VALUE_BYTES,
      broadcastBytes: MAX_MESSAGE_BYTES,
      nameCharacters: NAME_MAX_LENGTH,
      pathBytes: MAX_PATH_BYTES,
      nameBytes: MAX_NAME_BYTES,
    }).toEqual({
      frameBytes: EditorLimits.frameBytes.value,
      jsonDepth: EditorLimits.jsonDepth.value,
      liveCharacters: EditorLimits.liveCharacters.value,
      dataValueBytes: EditorLimits.dataValueBytes.value,
      broadcastBytes: EditorLimits.broadcastBytes.value,
      nameCharacters: EditorLimits.nameCharacters.value,
      pathBytes: EditorLimits.pathBytes.value,
      nameBytes: EditorLimits.nameBytes.value,
    });
  });

  it('undo keeps as many steps as the spec says, then forgets the oldest', () => {
    const h = new UndoHistory();
    const n = EditorLimits.undoSteps.value;
    for (let i = 0; i <= n; i++) h.recordOwn(spliceOp({ at: i, del: 0, ins: 'x' }), 'x'.repeat(i), true, i * 10_000);
    let steps = 0;
    while (h.takeUndo()) steps++;
    expect(steps).toBe(n);
  });
});
