import { expect, test } from 'bun:test';
import type { LogFields, Logger } from '../log';
import { OUTAGE_LOG_EVERY_MS, warnOutage } from './outage-log';

function recorder() {
  const lines: [string, LogFields | undefined][] = [];
  const log: Logger = { info: () => {}, warn: (m, f) => lines.push([m, f]), error: () => {} };
  return { log, lines };
}

test('an outage is logged once per repository per minute, the next line counting those left out', () => {
  const { log, lines } = recorder();
  const t0 = 1_000_000;
  for (let i = 0; i < 4; i++) warnOutage(log, 'go-proxy', 'upstream outage', {}, t0 + i);
  warnOutage(log, 'other', 'upstream outage', {}, t0 + 5);
  warnOutage(log, 'go-proxy', 'upstream outage', {}, t0 + OUTAGE_LOG_EVERY_MS);
  expect(lines).toEqual([
    ['upstream outage', { repository: 'go-proxy' }],
    ['upstream outage', { repository: 'other' }],
    ['upstream outage', { repository: 'go-proxy', suppressed: 3 }],
  ]);
});

test('each logger keeps its own window', () => {
  const a = recorder();
  const b = recorder();
  warnOutage(a.log, 'go-proxy', 'upstream outage', {}, 5);
  warnOutage(b.log, 'go-proxy', 'upstream outage', {}, 5);
  expect([a.lines.length, b.lines.length]).toEqual([1, 1]);
});
