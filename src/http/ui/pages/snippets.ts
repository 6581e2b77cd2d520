import type { RepositoryView } from '../../../repos/repository-service';
import { type Html, html } from '../html';
import { copyBlock, copyLine, url } from '../layout';
import type { UiEnv } from '../session';
import { goproxyUrl } from './repositories';

/**
 * Module path patterns for GONOSUMDB: the namespaces owned here when there are any, else the first two
 * path elements of the modules stored here (example.com/acme); undefined when nothing is known, so that
 * no placeholder is ever copied as if it were a setting.
 */
export function privatePatterns(namespaces: string[], modules: string[]): string | undefined {
  if (namespaces.length) return namespaces.join(',');
  const patterns = new Set(modules.map((m) => m.split('/').slice(0, 2).join('/')));
  return patterns.size ? [...patterns].sort().join(',') : undefined;
}

/** The go command's setup for one repository: GOPROXY (with a token placeholder), .netrc, checksum database. */
export function setupSnippets(ui: UiEnv, repo: RepositoryView, namespaces: string[], modulePaths: string[]): Html {
  const plain = goproxyUrl(ui, repo);
  const u = new URL(plain);
  const withToken = `${u.protocol}//USERNAME:TOKEN@${u.host}${u.pathname}`;
  const patterns = privatePatterns(namespaces, modulePaths);
  const env = [
    repo.anonymousRead ? `export GOPROXY=${plain}` : `export GOPROXY=${withToken}`,
    ...(repo.type === 'proxy'
      ? []
      : patterns
        ? [
            '# Modules only this server has are unknown to the public checksum database:',
            `export GONOSUMDB=${patterns}`,
            `# or: export GOPRIVATE=${patterns} GONOPROXY=none  (GONOPROXY=none keeps them coming through GOPROXY)`,
          ]
        : [
            '# Private modules are unknown to the public checksum database: set GONOSUMDB to their path patterns',
            `# (give ${repo.type === 'group' ? 'its hosted members' : 'this repository'} namespaces, and they are named here).`,
          ]),
  ].join('\n');
  const netrc = `machine ${u.host} login USERNAME password TOKEN`;
  return html`<section class="panel" aria-labelledby="setup-h">
    <h2 id="setup-h">Use this repository</h2>
    ${copyLine('goproxy-url', 'GOPROXY URL', plain)}
    ${copyBlock('env-snippet', 'Shell setup', env)}
    <p class="hint">USERNAME is your user name (${ui.principal.kind === 'user' ? ui.principal.username : 'yours'}); TOKEN is an
      <a href="${url(ui, '/tokens')}">API token</a>. ${repo.anonymousRead ? 'This repository is readable without credentials; they are needed only to upload.' : ''}</p>
    ${copyBlock('netrc-snippet', 'Or keep the credentials in ~/.netrc (then GOPROXY needs none)', `${netrc}\n`)}
  </section>`;
}

/**
 * The upload form for hosted repositories; ui.js sends the zip with PUT and shows progress. It opens
 * with the same instructions as the README's "Publish a private module": the publisher first, then
 * the zip layout this form takes (the publisher's --output file, byte for byte).
 */
export function uploadForm(ui: UiEnv, repo: RepositoryView): Html {
  const endpoint = url(ui, `/go/${repo.name}/`);
  const curl = `curl --fail-with-body -u USERNAME:TOKEN -T module.zip ${goproxyUrl(ui, repo)}MODULE/@v/VERSION.zip`;
  const publish = `ORBITREPO_USER=USERNAME ORBITREPO_TOKEN=TOKEN bunx orbitrepos-go publish ./my-module --repository ${repo.name} --server ${ui.baseUrl} --version v1.2.3`;
  return html`<section class="panel" aria-labelledby="upload-h">
    <h2 id="upload-h">Upload a module</h2>
    ${copyLine('publish-command', 'Publish from a module directory (builds the zip as the go command does, then uploads it)', publish)}
    <details id="zip-layout">
      <summary>Or upload a zip: its layout</summary>
      <p class="hint">Every file sits under <code>{module}@{version}/</code> (for example <code>example.com/acme/tool@v1.2.3/go.mod</code>), with no entries
        for the folders above it. <code>bunx orbitrepos-go publish ./my-module --version v1.2.3 --output module.zip</code> writes such a zip;
        by hand, copy the module into a folder named <code>example.com/acme/tool@v1.2.3</code> and run <code>zip -r -D module.zip example.com</code>
        from the folder above <code>example.com</code> (<code>-D</code> leaves out the folder entries the go command refuses).
        The go command leaves <code>.git</code>, nested modules and vendored packages out of its zips; the publisher does the same.</p>
      <p class="hint">With curl: <code>${curl}</code></p>
    </details>
    <form id="upload-form" data-endpoint="${endpoint}" data-after="${url(ui, `/repositories/${encodeURIComponent(repo.name)}/module`)}" novalidate>
      <input type="hidden" name="_csrf" value="${ui.csrf}">
      <div class="grid2">
        <div class="field"><label for="upload-module">Module path</label>
          <input id="upload-module" name="module" type="text" required placeholder="example.com/acme/tool" spellcheck="false" class="mono"></div>
        <div class="field"><label for="upload-version">Version</label>
          <input id="upload-version" name="version" type="text" required placeholder="v1.2.3" spellcheck="false" class="mono"></div>
      </div>
      <div class="field"><label for="upload-file">Module zip</label>
        <input id="upload-file" name="file" type="file" accept=".zip,application/zip" required aria-describedby="upload-file-hint upload-error">
        <p class="hint" id="upload-file-hint">Files under <code>{module}@{version}/</code>, as <code>go mod download</code> stores them (see the layout above).</p>
        <p class="field-error" id="upload-error" role="alert" hidden></p>
      </div>
      <progress id="upload-progress" max="1" value="0" hidden></progress>
      <p id="upload-status" role="status" class="muted"></p>
      <button type="submit">Upload</button>
    </form>
    <noscript><p>Uploading here needs JavaScript. Without it: <code>${curl}</code></p></noscript>
  </section>`;
}
