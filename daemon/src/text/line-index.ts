/**
 * Where each line of a text starts, kept up to date splice by splice, so converting a position
 * costs a binary search instead of a scan from the top of the file on every keystroke.
 */
export class LineIndex {
  private constructor(private starts: number[]) {}

  static of(text: string): LineIndex {
    const starts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    return new LineIndex(starts);
  }

  get lineCount(): number {
    return this.starts.length;
  }

  /** Offset where `line` starts, or undefined past the last line. */
  start(line: number): number | undefined {
    return this.starts[line];
  }

  /** The line containing `offset` (a newline belongs to the line it ends). */
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Update for: delete `del` code units at `at`, insert `ins` there. */
  splice(at: number, del: number, ins: string): void {
    const s = this.starts;
    const delta = ins.length - del;
    // Lines starting inside the deleted span disappear; their newline was deleted.
    const first = this.lineAt(at) + 1;
    let last = first;
    while (last < s.length && s[last]! <= at + del) last++;
    const added: number[] = [];
    for (let i = ins.indexOf('\n'); i !== -1; i = ins.indexOf('\n', i + 1)) added.push(at + i + 1);
    for (let i = last; i < s.length; i++) s[i]! += delta;
    if (last - first === 0 && added.length === 0) return;
    s.splice(first, last - first, ...added);
  }
}
