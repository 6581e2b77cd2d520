import MarkdownIt from 'markdown-it';
import { Html } from './html';

/**
 * READMEs from module zips are written by whoever publishes, so they are rendered as untrusted text:
 * markdown-it with raw HTML off (a <script> or an onerror= in the source comes out as visible text,
 * never as markup), links limited to http(s), mailto and in-page anchors (javascript:, data:, vbscript:
 * and every other scheme render as plain text), and relative links and images neutralised, since they
 * point into a repository this server does not host: a relative link keeps its text, a relative or
 * non-https image shows its alt text.
 */
const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const SAFE_SCHEME = /^(https?:\/\/|mailto:)/i;
/** Relative: no scheme and not protocol-relative (//host would leave the page like an absolute link). */
const isRelative = (url: string) => !SCHEME.test(url) && !url.startsWith('//');

// Unsafe schemes are refused at parse time: markdown-it then leaves the source as text.
md.validateLink = (url: string) => {
  const u = url.trim();
  return SAFE_SCHEME.test(u) || isRelative(u);
};

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const href = String(token.attrGet('href') ?? '');
  if (SAFE_SCHEME.test(href)) {
    token.attrSet('rel', 'nofollow noopener noreferrer');
  } else if (!href.startsWith('#')) {
    // A relative link points into a source tree this server does not host: the text stays, the address goes.
    token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'href');
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = String(token.attrGet('src') ?? '');
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  if (!/^https:\/\//i.test(src)) return alt ? `<span class="muted">[${md.utils.escapeHtml(alt)}]</span>` : '';
  token.attrSet('alt', alt);
  token.attrSet('loading', 'lazy');
  token.attrSet('referrerpolicy', 'no-referrer');
  return self.renderToken(tokens, idx, options);
};

/** Rendered README HTML: see the module comment for what is kept and what is not. */
export function renderMarkdown(text: string): Html {
  return new Html(md.render(text));
}
