import { ASSET_VERSION } from './assets';
import { attrs, type Html, html } from './html';
import { isSignedIn, type UiEnv } from './session';

export type Section = 'repositories' | 'search' | 'tokens' | 'users' | 'audit' | 'login' | 'error';

export function url(ui: Pick<UiEnv, 'prefix'>, path: string): string {
  return ui.prefix + path;
}

/** The hidden field every state-changing form carries. */
export function csrfField(ui: UiEnv): Html {
  return html`<input type="hidden" name="_csrf" value="${ui.csrf}">`;
}

function nav(ui: UiEnv, section: Section): Html {
  if (!isSignedIn(ui)) return html``;
  const item = (key: Section, path: string, label: string) =>
    html`<li><a href="${url(ui, path)}"${attrs({ 'aria-current': key === section ? 'page' : null })}>${label}</a></li>`;
  return html`<nav aria-label="Main">
    <ul>
      ${item('repositories', '/', 'Repositories')}
      ${item('tokens', '/tokens', 'Tokens')}
      ${ui.principal.isAdmin && item('users', '/users', 'Users')}
      ${ui.principal.isAdmin && item('audit', '/audit', 'Audit log')}
    </ul>
    <form method="post" action="${url(ui, '/logout')}" class="signout">
      ${csrfField(ui)}
      <span class="who">${ui.principal.username}</span>
      <button type="submit" class="link">Sign out</button>
    </form>
  </nav>`;
}

/** The header's search box: module paths across every repository the viewer may read. */
function headerSearch(ui: UiEnv, opts: { section: Section; query?: string }): Html {
  if (!isSignedIn(ui)) return html``;
  return html`<form method="get" action="${url(ui, '/search')}" class="header-search" role="search">
      <label class="offscreen" for="header-search">Search modules</label>
      <input id="header-search" name="q" type="search" value="${opts.query ?? ''}" placeholder="Search modules…" spellcheck="false" autocomplete="off">
    </form>`;
}

/** The page shell: header, navigation, a one-shot notice, the content. */
export function layout(ui: UiEnv, opts: { title: string; section: Section; body: Html; query?: string }): Html {
  const asset = (name: string) => url(ui, `/ui-assets/${name}?v=${ASSET_VERSION}`);
  return html`<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${opts.title} · OrbitRepos</title>
  <link rel="stylesheet" href="${asset('ui.css')}">
  <link rel="icon" href="${asset('icon.svg')}" type="image/svg+xml">
  <script src="${asset('ui.js')}" defer></script>
</head>
<body>
  <a class="skip" href="#main">Skip to content</a>
  <header class="top">
    <a class="brand" href="${url(ui, '/')}"><img src="${asset('icon.svg')}" alt="" width="22" height="22"> OrbitRepos</a>
    ${headerSearch(ui, opts)}
    ${nav(ui, opts.section)}
  </header>
  <main id="main">
    ${
      ui.warnDefaultPassword &&
      html`<p class="warning" role="alert" data-banner="default-password">The <strong>admin</strong> user still has the default password "admin": anyone can sign in as administrator. <a href="${url(ui, '/users/admin')}">Change it now</a>.</p>`
    }
    ${ui.flash && html`<p class="flash" role="status">${ui.flash}</p>`}
    ${opts.body}
  </main>
</body>
</html>`;
}

/** A labelled read-only line with a copy button (ui.js wires every [data-copy]). */
export function copyLine(id: string, label: string, text: string): Html {
  return html`<div class="copy">
    <label for="${id}">${label}</label>
    <div class="copy-row">
      <input id="${id}" type="text" readonly value="${text}" class="mono" spellcheck="false">
      <button type="button" data-copy="${id}">Copy</button>
    </div>
  </div>`;
}

/** A multi-line snippet with a copy button. */
export function copyBlock(id: string, label: string, text: string): Html {
  return html`<div class="copy">
    <div class="copy-head"><span id="${id}-label">${label}</span> <button type="button" data-copy="${id}">Copy</button></div>
    <pre id="${id}" aria-labelledby="${id}-label" tabindex="0">${text}</pre>
  </div>`;
}

export function errorPage(ui: UiEnv, status: number, message: string): Html {
  const title =
    status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status >= 500 ? 'Something went wrong' : 'That did not work';
  return layout(ui, {
    title,
    section: 'error',
    body: html`<h1>${title}</h1><p class="error-text">${message}</p><p><a href="${url(ui, '/')}">Back to repositories</a></p>`,
  });
}
