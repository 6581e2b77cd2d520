import { expect, test } from 'bun:test';
import { queryOperation } from './query-timing';

test.each([
  ['select "id" from "repositories" where "name" = $1', 'select'],
  ['  SELECT 1', 'select'],
  ['(select 1) union (select 2)', 'select'],
  ['insert into "audit_log" ("action") values ($1)', 'insert'],
  ['update "tokens" set "last_used_at" = $1', 'update'],
  ['delete from "module_versions" where "id" = $1', 'delete'],
  ['with x as (select 1) select * from x', 'other'],
  ['create table t (id int)', 'other'],
  ['', 'other'],
  [undefined, 'other'],
])('the statement %p is a %p for the metrics', (text, operation) => {
  expect(queryOperation(text)).toBe(operation as ReturnType<typeof queryOperation>);
});
