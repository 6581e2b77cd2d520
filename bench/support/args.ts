/** A bench's `--name=value` arguments by name; a bare `--flag` is 'true'. */
export function benchArgs(argv = process.argv.slice(2)): Map<string, string> {
  return new Map(
    argv.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k, v ?? 'true'] as const;
    }),
  );
}
