/**
 * Version of the editor protocol this package describes. Bumped on any incompatible change.
 * In a module of its own, without schemas, for the schema-free entry (handles.ts).
 */
export const PROTOCOL_VERSION = 1;
