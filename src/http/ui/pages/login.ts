import { type FieldErrors, formErrorBox, textField } from '../forms';
import { html } from '../html';
import { layout, url } from '../layout';
import type { UiEnv } from '../session';

export function loginPage(
  ui: UiEnv,
  opts: { loginCsrf: string; next: string; username?: string; errors?: FieldErrors },
): ReturnType<typeof layout> {
  const errors = opts.errors ?? {};
  return layout(ui, {
    title: 'Sign in',
    section: 'login',
    body: html`<div class="panel login">
      <h1>Sign in</h1>
      ${formErrorBox(errors)}
      <form method="post" action="${url(ui, '/login')}">
        <input type="hidden" name="_csrf" value="${opts.loginCsrf}">
        <input type="hidden" name="next" value="${opts.next}">
        ${textField({ id: 'username', label: 'Username', value: opts.username, required: true, autocomplete: 'username', autofocus: !opts.username, error: errors.username })}
        ${textField({ id: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password', autofocus: !!opts.username, error: errors.password })}
        <button type="submit">Sign in</button>
      </form>
    </div>`,
  });
}
