import { z } from 'zod';
import { allMethods } from './methods.js';
import { ErrorCodes, ExitCodes } from './errors.js';
import { SessionWords } from './session-words.js';
import { EditorLimits } from './limits.js';
import { PeerInfo, Position, PROTOCOL_VERSION, Range, Selection, TextChange } from './types.js';

/** The machine-readable model of the protocol, generated from the declarations (cf. LSP's metaModel.json). */
export function describeProtocol() {
  return {
    protocolVersion: PROTOCOL_VERSION,
    framing: 'JSON-RPC 2.0 with LSP base framing (Content-Length headers)',
    errors: ErrorCodes,
    /** Exit codes of the `chorus` command (`chorus connect` is the stdio transport). */
    exitCodes: ExitCodes,
    /** How a session is named to a person (session-words.ts), for the Lua and Elisp clients. */
    sessionWords: SessionWords,
    /** The limits no schema states (limits.ts); the schemas' own (`maxItems`, `maxLength`) are in `methods`. */
    limits: EditorLimits,
    /** Shapes that recur in params and results, by name (methods.md writes the name where one occurs). */
    types: Object.fromEntries(
      Object.entries({ Position, Range, TextChange, Selection, PeerInfo }).map(([name, t]) => [name, z.toJSONSchema(t, { io: 'input' })]),
    ),
    methods: allMethods.map((m) => ({
      method: m.method,
      kind: m.kind,
      direction: m.direction,
      doc: m.doc,
      params: z.toJSONSchema(m.params, { io: 'input', unrepresentable: 'any' }),
      ...(m.kind === 'request' ? { result: z.toJSONSchema(m.result, { io: 'output', unrepresentable: 'any' }) } : {}),
    })),
  };
}
