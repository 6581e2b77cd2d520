import { describe, expect, test } from 'bun:test';
import { renderMarkdown } from './markdown';

const render = (text: string) => renderMarkdown(text).value;

describe('renderMarkdown on hostile READMEs', () => {
  test.each([
    ['a script element', '<script>alert(1)</script>'],
    ['an event handler', '<img src="x" onerror="alert(1)">'],
    ['an inline handler in a div', '<div onclick="alert(1)">click</div>'],
    ['an iframe', '<iframe src="https://evil.example"></iframe>'],
    ['a style element', '<style>body{display:none}</style>'],
    ['an svg with onload', '<svg onload="alert(1)"></svg>'],
  ])('%s comes out as text, never as markup', (_, source) => {
    const out = render(source);
    expect(out).not.toMatch(/<(script|img|div|iframe|style|svg)\b/i);
    expect(out).toContain('&lt;');
  });

  test.each([
    ['javascript:', '[x](javascript:alert(1))'],
    ['JavaScript: in capitals', '[x](JaVaScRiPt:alert(1))'],
    ['an entity-encoded scheme', '[x](jav&#x61;script:alert(1))'],
    ['a scheme hidden by a tab', '[x](java\tscript:alert(1))'],
    ['vbscript:', '[x](vbscript:msgbox(1))'],
    ['data:', '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['an autolink', '<javascript:alert(1)>'],
    ['a reference link', '[x][r]\n\n[r]: javascript:alert(1)'],
    ['an image', '![x](javascript:alert(1))'],
  ])('a %s link renders without a dangerous address', (_, source) => {
    const out = render(source);
    expect(out).not.toMatch(/href="\s*(javascript|vbscript|data)/i);
    expect(out).not.toMatch(/src="\s*(javascript|vbscript|data)/i);
    expect(out.toLowerCase()).not.toContain('<a href="jav');
  });

  test('https links are kept, with rel nofollow noopener noreferrer', () => {
    expect(render('[docs](https://example.com/docs)')).toContain(
      '<a href="https://example.com/docs" rel="nofollow noopener noreferrer">docs</a>',
    );
  });

  test('relative links keep their text but lose their address; in-page anchors stay', () => {
    const out = render('[guide](docs/guide.md) and [up](../x) and [top](#usage)');
    expect(out).not.toContain('docs/guide.md');
    expect(out).not.toContain('../x');
    expect(out).toContain('guide');
    expect(out).toContain('<a href="#usage">top</a>');
  });

  test('relative and plain-http images become their alt text; https images load lazily with no referrer', () => {
    const out = render('![logo](logo.png) ![shot](http://example.com/a.png) ![badge](https://example.com/b.svg)');
    expect(out).toContain('<span class="muted">[logo]</span>');
    expect(out).toContain('<span class="muted">[shot]</span>');
    expect(out).not.toContain('logo.png');
    expect(out).toContain('<img src="https://example.com/b.svg" alt="badge" loading="lazy" referrerpolicy="no-referrer">');
  });

  test('an image alt text with markup is escaped', () => {
    expect(render('![<img src=x onerror=alert(1)>](rel.png)')).not.toContain('<img');
  });

  test('ordinary Markdown renders', () => {
    const out = render('# Title\n\nSome *text* and `code`.\n\n```go\nfunc main() {}\n```\n\n- a\n- b\n');
    expect(out).toContain('<h1>Title</h1>');
    expect(out).toContain('<em>text</em>');
    expect(out).toContain('<code>code</code>');
    expect(out).toContain('<pre><code class="language-go">func main() {}');
    expect(out).toContain('<li>a</li>');
  });
});
