/**
 * The operator's guide lists the audit log's actions by hand; this holds the list to the actions the code
 * records, so a new audited action cannot go unmentioned and a removed one cannot linger in the docs.
 */
import { expect, test } from 'bun:test';
import { join } from 'node:path';

const ROOT = join(import.meta.dir, '..');

/** Every `action: 'family.verb'` an audit entry is written with in src/ (tests left out). */
async function recordedActions(): Promise<string[]> {
  const found = new Set<string>();
  for await (const file of new Bun.Glob('src/**/*.ts').scan(ROOT)) {
    if (file.endsWith('.test.ts')) continue;
    const text = await Bun.file(join(ROOT, file)).text();
    if (!/\.record(In)?\(/.test(text)) continue;
    for (const m of text.matchAll(/\baction: '([a-z]+\.[a-z]+)'/g)) found.add(m[1]);
  }
  return [...found].sort();
}

test("the operator's guide names exactly the audit actions the code records", async () => {
  const recorded = await recordedActions();
  expect(recorded).toContain('module.publish');
  expect(recorded.length).toBeGreaterThan(10);
  const guide = await Bun.file(join(ROOT, 'docs/operations.md')).text();
  const sentence = /Its actions: (.*?)\. Read it with/.exec(guide)?.[1] ?? '';
  const documented = [...new Set([...sentence.matchAll(/`([a-z]+\.[a-z]+)`/g)].map((m) => m[1]))].sort();
  expect(documented).toEqual(recorded);
});
