/**
 * Other people's cursors and selections in one editor: a caret in their colour with their name
 * above it, and their selected text tinted. The set is replaced whenever presence changes (the
 * `people` event) and mapped through edits in between, so a cursor stays on its character while
 * the text around it changes. Positions come from peers: they are clamped to the document and
 * capped in number, never trusted.
 */
import { StateEffect, StateField, type Extension, type Range } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view';
import type { SelectionRange } from '../peer-api.js';
import { h } from './dom.js';

/** Someone else's selections in this file. `color` must already be a safe CSS colour. */
export interface RemoteSelections {
  id: string;
  name: string;
  color: string;
  selections: SelectionRange[];
}

/** Replace the remote selections shown in an editor. */
export const setRemoteSelections = StateEffect.define<RemoteSelections[]>();

/** At most this many ranges per person are drawn (a peer could send thousands). */
const MAX_RANGES = 32;

class CursorWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly color: string,
    /** On the first line the label goes below the caret, where it is not clipped. */
    readonly firstLine: boolean,
    /**
     * The person's selections when this was drawn: a move makes a new widget, hence a new
     * element, whose label shows again and fades after a while (page.css); hovering the line shows it.
     */
    readonly stamp: string,
  ) {
    super();
  }

  override eq(other: CursorWidget): boolean {
    return other.name === this.name && other.color === this.color && other.firstLine === this.firstLine && other.stamp === this.stamp;
  }

  toDOM(): HTMLElement {
    return h(
      'span',
      { class: `cm-chorus-cursor${this.firstLine ? ' cm-chorus-cursor-first-line' : ''}`, vars: { '--chorus-color': this.color }, 'aria-hidden': 'true' },
      '\u2060', // a word joiner gives the caret the line's height without taking any width
      h('span', { class: 'cm-chorus-cursor-label', 'data-person': this.name }, this.name),
    );
  }

  override ignoreEvent(): boolean {
    return true;
  }
}

function clamp(pos: number, length: number): number {
  return Number.isFinite(pos) ? Math.min(Math.max(0, Math.trunc(pos)), length) : 0;
}

function build(people: RemoteSelections[], doc: EditorView['state']['doc']): DecorationSet {
  const ranges: Range<Decoration>[] = [];
  for (const person of people) {
    const stamp = JSON.stringify(person.selections.slice(0, MAX_RANGES));
    for (const sel of person.selections.slice(0, MAX_RANGES)) {
      const anchor = clamp(sel.anchor, doc.length);
      const head = clamp(sel.head, doc.length);
      const from = Math.min(anchor, head);
      const to = Math.max(anchor, head);
      if (from < to) {
        // style goes through CSSOM (cssText) in CodeMirror, which a strict CSP allows; the colour is pre-validated.
        ranges.push(Decoration.mark({ class: 'cm-chorus-selection', attributes: { style: `--chorus-color: ${person.color}` } }).range(from, to));
      }
      const widget = new CursorWidget(person.name, person.color, doc.lineAt(head).number === 1, stamp);
      ranges.push(Decoration.widget({ widget, side: head > anchor ? -1 : 1 }).range(head));
    }
  }
  return Decoration.set(ranges, true);
}

const remoteSelectionField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, tr) {
    for (const effect of tr.effects) if (effect.is(setRemoteSelections)) return build(effect.value, tr.state.doc);
    return tr.docChanged ? decorations.map(tr.changes) : decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The extension drawing remote selections; feed it with {@link setRemoteSelections}. */
export function remoteSelections(): Extension {
  return remoteSelectionField;
}
