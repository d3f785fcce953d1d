// ot-text ships no types. Ops are lists of components: a number skips that many UTF-16 code
// units, a string inserts it, {d: n} deletes n code units.
declare module 'ot-text' {
  export type Component = number | string | { d: number };
  export type Op = Component[];
  export const type: {
    normalize(op: Op): Op;
    apply(text: string, op: Op): string;
    transform(op: Op, other: Op, side: 'left' | 'right'): Op;
    compose(a: Op, b: Op): Op;
    transformSelection(sel: number, op: Op, isOwnOp?: boolean): number;
  };
}
