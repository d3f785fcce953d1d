/**
 * Modal dialogs built on <dialog> (focus trapping, Escape and the backdrop come from the browser):
 * asking for a path or a name, and confirming a deletion. An action that fails shows its error in
 * the dialog and keeps it open with what the person typed, so nothing is lost and they can fix it.
 */
import { h, messageOf } from './dom.js';

/** What {@link askText} shows. */
export interface AskTextOptions {
  title: string;
  /** One line under the title saying what happens. */
  description?: string;
  label: string;
  value?: string;
  /** Text of the confirming button. */
  confirm: string;
  /** `data-testid` of the dialog. */
  testId: string;
  /** Whether Escape and Cancel may close the dialog without an answer (default true). */
  cancellable?: boolean;
  /** Select this range of `value` when the dialog opens (default: all of it). */
  select?: [number, number];
  /** A problem with the value (shown, submit refused) or undefined when it is fine. */
  validate?: (value: string) => string | undefined;
  /** Runs on submit; a thrown error is shown in the dialog, which stays open. */
  submit: (value: string) => Promise<void> | void;
}

/** Ask for one line of text; resolves with the submitted value, or undefined when cancelled. */
export function askText(host: HTMLElement, opts: AskTextOptions): Promise<string | undefined> {
  const cancellable = opts.cancellable ?? true;
  const input = h('input', { type: 'text', class: 'dialog-input', value: opts.value ?? '', spellcheck: 'false', autocomplete: 'off', 'aria-label': opts.label });
  input.value = opts.value ?? '';
  const error = h('p', { class: 'dialog-error', role: 'alert', hidden: true });
  const submitButton = h('button', { type: 'submit', class: 'button primary' }, opts.confirm);
  const form = h(
    'form',
    { method: 'dialog', class: 'dialog-body' },
    h('h2', { class: 'dialog-title' }, opts.title),
    opts.description ? h('p', { class: 'dialog-description' }, opts.description) : null,
    h('label', { class: 'dialog-label' }, h('span', {}, opts.label), input),
    error,
    h(
      'div',
      { class: 'dialog-buttons' },
      cancellable ? h('button', { type: 'button', class: 'button', value: 'cancel', 'data-action': 'cancel' }, 'Cancel') : null,
      submitButton,
    ),
  );
  return runDialog(host, opts.testId, form, input, cancellable, (done) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input.value.trim();
      const problem = opts.validate?.(value);
      if (problem) return showError(error, problem, input);
      submitButton.disabled = true;
      void Promise.resolve()
        .then(() => opts.submit(value))
        .then(
          () => done(value),
          (e: unknown) => showError(error, messageOf(e), input),
        )
        .finally(() => (submitButton.disabled = false));
    });
    input.addEventListener('input', () => (error.hidden = true));
    const [from, to] = opts.select ?? [0, input.value.length];
    queueMicrotask(() => input.setSelectionRange(from, to));
  });
}

/** What {@link confirmAction} shows. */
export interface ConfirmOptions {
  title: string;
  description: string;
  confirm: string;
  testId: string;
  danger?: boolean;
  /** Runs on confirm; a thrown error is shown in the dialog, which stays open. */
  run: () => Promise<void> | void;
}

/** Ask to confirm an action; resolves true when it ran, false when cancelled. */
export function confirmAction(host: HTMLElement, opts: ConfirmOptions): Promise<boolean> {
  const error = h('p', { class: 'dialog-error', role: 'alert', hidden: true });
  const ok = h('button', { type: 'submit', class: `button ${opts.danger ? 'danger' : 'primary'}` }, opts.confirm);
  const cancel = h('button', { type: 'button', class: 'button', 'data-action': 'cancel' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog', class: 'dialog-body' },
    h('h2', { class: 'dialog-title' }, opts.title),
    h('p', { class: 'dialog-description' }, opts.description),
    error,
    h('div', { class: 'dialog-buttons' }, cancel, ok),
  );
  return runDialog(host, opts.testId, form, cancel, true, (done) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      ok.disabled = true;
      void Promise.resolve()
        .then(() => opts.run())
        .then(
          () => done('yes'),
          (e: unknown) => showError(error, messageOf(e), ok),
        )
        .finally(() => (ok.disabled = false));
    });
  }).then((answer) => answer === 'yes');
}

function showError(error: HTMLElement, text: string, focus: HTMLElement): void {
  error.textContent = text;
  error.hidden = false;
  focus.focus();
}

/** Open a modal <dialog> holding `form`; `wire` hooks the form and calls `done` with the answer. */
function runDialog(
  host: HTMLElement,
  testId: string,
  form: HTMLFormElement,
  focus: HTMLElement,
  cancellable: boolean,
  wire: (done: (answer: string) => void) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'data-testid': testId }, form);
    let answered = false;
    const finish = (answer: string | undefined): void => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      if (cancellable) finish(undefined);
    });
    form.querySelector('[data-action="cancel"]')?.addEventListener('click', () => finish(undefined));
    wire(finish);
    host.append(dialog);
    dialog.showModal();
    focus.focus();
  });
}
