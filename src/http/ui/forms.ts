import { AppError, BadRequest, Conflict, toAppError } from '../../errors';
import { attrs, type Html, html } from './html';

/** Field name -> message shown beside it; `_form` is shown above the form. */
export type FieldErrors = Record<string, string>;

interface FieldBase {
  id: string;
  name?: string;
  label: string;
  error?: string;
  hint?: string | Html;
  /** Shown only while the form's type select has one of these values (ui.js); always shown without script. */
  showFor?: string[];
  extraClass?: string;
}

function describedBy(f: FieldBase): string | null {
  const ids = [f.hint ? `${f.id}-hint` : '', f.error ? `${f.id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : null;
}

function wrap(f: FieldBase, control: Html): Html {
  return html`<div class="field${f.error ? ' has-error' : ''}${f.extraClass ? ` ${f.extraClass}` : ''}"${attrs({ 'data-show-for': f.showFor?.join(' ') })}>
    <label for="${f.id}">${f.label}</label>
    ${control}
    ${f.hint && html`<p class="hint" id="${f.id}-hint">${f.hint}</p>`}
    ${f.error && html`<p class="field-error" id="${f.id}-error">${f.error}</p>`}
  </div>`;
}

export function textField(
  f: FieldBase & {
    value?: string;
    type?: string;
    required?: boolean;
    autocomplete?: string;
    placeholder?: string;
    autofocus?: boolean;
    pattern?: string;
  },
): Html {
  const control = html`<input${attrs({
    id: f.id,
    name: f.name ?? f.id,
    type: f.type ?? 'text',
    value: f.type === 'password' ? null : (f.value ?? ''),
    required: f.required,
    autocomplete: f.autocomplete,
    placeholder: f.placeholder,
    autofocus: f.autofocus,
    pattern: f.pattern,
    spellcheck: f.type === 'password' ? null : 'false',
    'aria-invalid': f.error ? 'true' : null,
    'aria-describedby': describedBy(f),
  })}>`;
  return wrap(f, control);
}

export function textArea(f: FieldBase & { value?: string; rows?: number }): Html {
  const control = html`<textarea${attrs({ id: f.id, name: f.name ?? f.id, rows: f.rows ?? 3, 'aria-invalid': f.error ? 'true' : null, 'aria-describedby': describedBy(f) })}>${f.value ?? ''}</textarea>`;
  return wrap(f, control);
}

export function selectField(f: FieldBase & { value?: string; options: [value: string, label: string][]; required?: boolean }): Html {
  const control = html`<select${attrs({ id: f.id, name: f.name ?? f.id, required: f.required, 'aria-invalid': f.error ? 'true' : null, 'aria-describedby': describedBy(f) })}>
    ${f.options.map(([v, label]) => html`<option${attrs({ value: v, selected: v === f.value })}>${label}</option>`)}
  </select>`;
  return wrap(f, control);
}

export function checkboxField(f: FieldBase & { checked: boolean; value?: string; inputAttrs?: Record<string, string | boolean> }): Html {
  return html`<div class="field check${f.error ? ' has-error' : ''}"${attrs({ 'data-show-for': f.showFor?.join(' ') })}>
    <input${attrs({ type: 'checkbox', id: f.id, name: f.name ?? f.id, value: f.value ?? 'on', checked: f.checked, 'aria-describedby': describedBy(f), ...f.inputAttrs })}>
    <label for="${f.id}">${f.label}</label>
    ${f.hint && html`<p class="hint" id="${f.id}-hint">${f.hint}</p>`}
    ${f.error && html`<p class="field-error" id="${f.id}-error">${f.error}</p>`}
  </div>`;
}

export function formErrorBox(errors: FieldErrors): Html {
  return html`${errors._form && html`<p class="form-error" role="alert">${errors._form}</p>`}`;
}

/**
 * Puts a service's refusal next to the field it concerns: services name it (`field` on BadRequest and
 * Conflict, as the admin API's JSON spells it); `formFields` renames those the form calls otherwise.
 * A refusal about no field goes above the form rather than being lost.
 */
export function errorsFor(err: unknown, formFields: Record<string, string> = {}): FieldErrors {
  const e = toAppError(err);
  const field = e instanceof BadRequest || e instanceof Conflict ? e.field : undefined;
  if (!field) return { _form: e.message };
  return { [formFields[field] ?? field]: e.message };
}

/** Client mistakes are shown on the form; anything else is the error page's business. */
export function isClientError(err: unknown): boolean {
  const e = toAppError(err);
  return e instanceof AppError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 403;
}

export function str(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}
