-- The natural-order key of a module path, as modulePathSortKey (src/goproxy/module-path.ts) makes it: letters
-- lowered, each run of digits written as '0', the character U+0100 + its length (leading zeros dropped), then
-- its digits. Compared byte-wise (COLLATE "C") it orders svc-2 before svc-10: the module browse index.
CREATE FUNCTION module_path_sort_key(path text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(CASE WHEN s.m ~ '^[0-9]' THEN '0' || chr(256 + length(s.d)) || s.d ELSE s.m END, '' ORDER BY r.n), '')
  FROM regexp_matches(lower(path), '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS r(a, n),
    LATERAL (SELECT r.a[1] AS m, coalesce(nullif(ltrim(r.a[1], '0'), ''), '0') AS d) AS s
$$;
