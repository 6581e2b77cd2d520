/**
 * The go side of the publisher's cross-check: a small Go program that runs
 * golang.org/x/mod/zip.CreateFromDir (fetched through the machine's GOPROXY
 * when the test runs) and prints the zip's h1: hash and entry names, or the
 * files CheckDir finds invalid.
 */
import { join } from 'node:path';
import { type GoEnv, machineGoEnv, makeGoEnv, runGo } from './go';

/** Pinned: which vendor/ files go into a zip changed in x/mod's history, and the judge must not move under the test. */
export const X_MOD_VERSION = 'v0.43.0';

const PROGRAM = `// The judge for the publisher: golang.org/x/mod/zip.CreateFromDir builds the
// zip of a directory, and this prints its h1: hash and entry names, or the
// files CheckDir finds invalid, as one JSON object.
package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

type result struct {
	H1      string   \`json:"h1,omitempty"\`
	Names   []string \`json:"names,omitempty"\`
	Error   string   \`json:"error,omitempty"\`
	Invalid []string \`json:"invalid,omitempty"\`
}

func main() {
	mod, vers, dir, out := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	var r result
	f, err := os.Create(out)
	if err != nil {
		panic(err)
	}
	err = modzip.CreateFromDir(f, module.Version{Path: mod, Version: vers}, dir)
	f.Close()
	if err != nil {
		r.Error = err.Error()
		cf, _ := modzip.CheckDir(dir)
		for _, e := range cf.Invalid {
			rel, _ := filepath.Rel(dir, e.Path)
			r.Invalid = append(r.Invalid, filepath.ToSlash(rel))
		}
	} else {
		if r.H1, err = dirhash.HashZip(out, dirhash.Hash1); err != nil {
			panic(err)
		}
		z, err := zip.OpenReader(out)
		if err != nil {
			panic(err)
		}
		for _, zf := range z.File {
			r.Names = append(r.Names, zf.Name)
		}
		z.Close()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		panic(err)
	}
}
`;

export interface CreateFromDirResult {
  h1?: string;
  names?: string[];
  error?: string;
  invalid?: string[];
}

export interface CreateFromDirJudge {
  run(modulePath: string, version: string, dir: string): Promise<CreateFromDirResult>;
  cleanup(): Promise<void>;
}

/** Builds the program, or returns why it cannot (no go command, no reachable GOPROXY): the caller skips loudly. */
export async function buildCreateFromDirJudge(): Promise<CreateFromDirJudge | { skip: string }> {
  if (Bun.which('go') === null) return { skip: 'no go command on PATH' };
  const goproxy = await machineGoEnv('GOPROXY');
  const first = goproxy.split(/[,|]/)[0];
  if (!/^https?:\/\//.test(first)) return { skip: `go env GOPROXY starts with ${JSON.stringify(first)}, not a URL` };
  const env: GoEnv = await makeGoEnv({
    goproxy,
    gosumdb: await machineGoEnv('GOSUMDB'),
    goflags: '-mod=mod -modcacherw',
  });
  const src = join(env.root, 'judge');
  await Bun.write(join(src, 'go.mod'), `module judge\n\ngo 1.22\n\nrequire golang.org/x/mod ${X_MOD_VERSION}\n`);
  await Bun.write(join(src, 'main.go'), PROGRAM);
  const bin = join(env.root, 'judge-bin');
  for (const args of [
    ['mod', 'download', 'golang.org/x/mod'],
    ['build', '-o', bin, '.'],
  ]) {
    const r = await runGo(args, { env: env.env, cwd: src, timeoutMs: 180_000 });
    if (r.code !== 0) {
      await env.cleanup();
      return {
        skip: `go ${args.join(' ')} failed (is the Go module proxy reachable?): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      };
    }
  }
  let n = 0;
  return {
    async run(modulePath, version, dir) {
      const out = join(env.root, `zip-${n++}.zip`);
      const p = Bun.spawn([bin, modulePath, version, dir, out], { stdout: 'pipe', stderr: 'pipe', env: env.env });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`CreateFromDir judge failed (${code}): ${stderr}`);
      return JSON.parse(stdout) as CreateFromDirResult;
    },
    cleanup: () => env.cleanup(),
  };
}
