import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openMigratedPglite } from '../../test/support/pglite';
import type { DatabaseHandle } from '../db/open';
import { silentLogger } from '../log';
import { InvalidationBus } from './invalidation';

describe('InvalidationBus', () => {
  let db: DatabaseHandle;
  beforeAll(async () => {
    db = await openMigratedPglite();
  });
  afterAll(async () => {
    await db.close();
  });

  test('publish has dropped the entry in this process by the time it returns', async () => {
    const bus = new InvalidationBus(db, silentLogger);
    await bus.start();
    const seen: string[] = [];
    bus.subscribe('repository', (key) => seen.push(key));
    await bus.publish('repository', '7');
    expect(seen).toEqual(['7']);
    await bus.close();
  });

  test('another bus on the same database hears it, once, and only for its topic', async () => {
    const a = new InvalidationBus(db, silentLogger);
    const b = new InvalidationBus(db, silentLogger);
    await Promise.all([a.start(), b.start()]);
    const inA: string[] = [];
    const inB: string[] = [];
    a.subscribe('user', (k) => inA.push(k));
    b.subscribe('user', (k) => inB.push(k));
    b.subscribe('grant', () => inB.push('wrong topic'));
    await a.publish('user', 'alice');
    for (let i = 0; i < 100 && inB.length === 0; i++) await Bun.sleep(10);
    expect(inB).toEqual(['alice']);
    await Bun.sleep(50);
    expect(inA).toEqual(['alice']); // its own notification is not applied a second time
    await Promise.all([a.close(), b.close()]);
  });

  test('a failing handler does not keep the others from running', async () => {
    const bus = new InvalidationBus(db, silentLogger);
    await bus.start();
    const seen: string[] = [];
    bus.subscribe('token', () => {
      throw new Error('boom');
    });
    bus.subscribe('token', (k) => seen.push(k));
    await bus.publish('token', '1');
    expect(seen).toEqual(['1']);
    await bus.close();
  });

  test('it is listening only between start and close', async () => {
    const bus = new InvalidationBus(db, silentLogger);
    expect(bus.listening).toBe(false);
    await bus.start();
    expect(bus.listening).toBe(true);
    await bus.close();
    expect(bus.listening).toBe(false);
  });
});
