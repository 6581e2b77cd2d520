/**
 * HTML built from tagged templates that escape every interpolated value unless it is already Html.
 * Escaping by default (rather than JSX, whose @kitajs/html children are raw unless marked `safe`) means
 * forgetting something makes text show up escaped, never makes a module path run as script.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function render(part: Part): string {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  // false/null/undefined render nothing, so `${cond && html`…`}` reads naturally.
  if (part === null || part === undefined || part === false) return '';
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** ` name="value"` pairs for optional boolean attributes: `<input${attrs({ checked: on })}>`. */
export function attrs(values: Record<string, string | number | boolean | null | undefined>): Html {
  let out = '';
  for (const [k, v] of Object.entries(values)) {
    if (v === false || v === null || v === undefined) continue;
    out += v === true ? ` ${k}` : ` ${k}="${escapeHtml(String(v))}"`;
  }
  return new Html(out);
}
