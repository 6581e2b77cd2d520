import { expect, test } from 'bun:test';
import { fullGcEvery } from './full-gc';

test('a collection runs each time the interval has passed, counted across chunks of any size', () => {
  let runs = 0;
  const pace = fullGcEvery(10, () => runs++);
  for (const bytes of [4, 4, 1]) pace(bytes);
  expect(runs).toBe(0);
  pace(1);
  expect(runs).toBe(1);
  pace(25);
  expect(runs).toBe(2);
  for (let i = 0; i < 9; i++) pace(1);
  expect(runs).toBe(2);
  pace(1);
  expect(runs).toBe(3);
});

test.each([0, -1])('an interval of %p switches collections off', (every) => {
  let runs = 0;
  const pace = fullGcEvery(every, () => runs++);
  for (let i = 0; i < 100; i++) pace(1 << 20);
  expect(runs).toBe(0);
});
