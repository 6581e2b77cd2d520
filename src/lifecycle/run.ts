import type { AppContext } from '../context';
import { DEFAULT_GC_GRACE_MS } from './blob-gc';

/** One scheduled lifecycle run: apply the cleanup policies, then collect unreferenced blobs (and expired proxy metadata). */
export async function runLifecycle(ctx: AppContext, actor: string): Promise<void> {
  await ctx.cleanup.runAll(actor);
  const graceMs = ctx.settings.gcGraceSeconds !== undefined ? ctx.settings.gcGraceSeconds * 1000 : DEFAULT_GC_GRACE_MS;
  await ctx.collector.run({ graceMs, actor });
}
