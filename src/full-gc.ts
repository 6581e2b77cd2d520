/**
 * A full, synchronous collection (`Bun.gc(true)`) every so many bytes of a streaming job. Bun's collector
 * reclaims the chunk buffers of a long stream late: without this, staging and checking a 100 MiB zip grows
 * the server by hundreds of MiB, and publishing a 250 MB module grows the CLI by 127 MB instead of 92 MB.
 * The price is a stop-the-world pause per collection, paid by every request in flight
 * (bench/full-gc.bench.ts measures it under concurrent fills). Used by the server's uploads and proxy fills
 * (src/repos/periodic-full-gc.ts, ORBITREPO_FULL_GC_EVERY_MIB) and by the publisher CLI (src/cli/module-dir.ts).
 */

/** Counts bytes and runs a full collection each time `every` more have passed; `every` 0 (or less): never. */
export function fullGcEvery(every: number, collect: () => void = () => Bun.gc(true)): (bytes: number) => void {
  if (!(every > 0)) return () => {};
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    collect();
  };
}
