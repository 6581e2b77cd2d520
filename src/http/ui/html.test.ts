import { describe, expect, test } from 'bun:test';
import { attrs, escapeHtml, Html, html } from './html';

describe('html templates', () => {
  test('interpolated strings are escaped, including quotes and backticks', () => {
    expect(html`<p title="${`"'\``}">${'<b>&</b>'}</p>`.value).toBe('<p title="&quot;&#39;&#96;">&lt;b&gt;&amp;&lt;/b&gt;</p>');
  });

  test('nested templates and arrays are inserted as markup, their own values still escaped', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>`.value).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>');
  });

  test.each([
    [false, ''],
    [null, ''],
    [undefined, ''],
    [0, '0'],
    ['', ''],
  ])('the value %p renders as %p', (value, out) => {
    expect(html`${value}`.value).toBe(out);
  });

  test('attrs leaves out false and null, writes true as a bare name, and escapes values', () => {
    expect(attrs({ checked: true, hidden: false, title: null, value: '"x"' }).value).toBe(' checked value="&quot;x&quot;"');
  });

  test('only an Html value passes markup through unchanged', () => {
    expect(html`${new Html('<br>')}`.value).toBe('<br>');
    expect(html`${'<br>'}`.value).toBe(escapeHtml('<br>'));
  });
});
