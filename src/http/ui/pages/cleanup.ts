import type { CleanupPolicyView, CleanupReason, CleanupReport } from '../../../lifecycle/cleanup';
import type { RepositoryView } from '../../../repos/repository-service';
import { type FieldErrors, formErrorBox, textField } from '../forms';
import { type Html, html } from '../html';
import { csrfField, layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { repoHref } from './repositories';
import { formatSize, formatTime, moduleHref } from './repository';

/** The rules as the form shows them: the numbers typed (or stored), '' for off. */
export type CleanupFormValues = Record<'unusedDays' | 'keepPrereleases' | 'keepVersions', string>;

export function cleanupFormValues(policy: CleanupPolicyView): CleanupFormValues {
  const shown = (n: number | null) => (n === null ? '' : String(n));
  return { unusedDays: shown(policy.unusedDays), keepPrereleases: shown(policy.keepPrereleases), keepVersions: shown(policy.keepVersions) };
}

const REASONS: Record<CleanupReason, string> = {
  keepVersions: 'beyond the newest N versions',
  keepPrereleases: 'beyond the newest N pre-releases',
  unusedDays: 'not used for N days',
};

/** The policy form and the dry-run button: on the repository page (administrators) and above a dry run's list. */
export function cleanupPanel(
  ui: SignedInEnv,
  repo: RepositoryView,
  policy: CleanupPolicyView,
  opts: { values?: CleanupFormValues; errors?: FieldErrors } = {},
): Html {
  const v = opts.values ?? cleanupFormValues(policy);
  const e = opts.errors ?? {};
  const number = (id: keyof CleanupFormValues, label: string, hint: string) =>
    textField({ id: `cleanup-${id}`, name: id, label, type: 'number', value: v[id], error: e[id], hint, placeholder: 'off' });
  const on = policy.unusedDays !== null || policy.keepPrereleases !== null || policy.keepVersions !== null;
  return html`<section class="panel" aria-labelledby="cleanup-h">
    <h2 id="cleanup-h">Cleanup policy</h2>
    <p class="muted">${
      on
        ? html`Runs with the storage lifecycle schedule${policy.updatedBy && html`; set by ${policy.updatedBy}`}${policy.updatedAt && html` on ${formatTime(policy.updatedAt)}`}.`
        : 'No rules: nothing is removed.'
    }
      The version <code>@latest</code> answers is never removed.
      ${repo.type === 'hosted' ? 'Removed versions leave tombstones under allow_once: only the same bytes can take them again.' : 'A removed cached version is fetched again from the upstream when asked for.'}</p>
    ${formErrorBox(e)}
    <form method="post" action="${repoHref(ui, repo.name, '/cleanup-policy')}" novalidate>
      ${csrfField(ui)}
      ${number('keepVersions', 'Keep at most N versions of each module', 'Empty: off.')}
      ${number('keepPrereleases', 'Keep the newest N pre-releases of each module', 'Pseudo-versions count as pre-releases. Empty: off.')}
      ${repo.type === 'proxy' && number('unusedDays', 'Remove cached versions unused for N days', 'Neither downloaded nor cached in that time (download statistics). Empty: off.')}
      <p class="actions"><button type="submit">Save policy</button>
        ${on && html`<a class="button secondary" href="${repoHref(ui, repo.name, '/cleanup')}">Dry run…</a>`}</p>
    </form>
  </section>`;
}

/** A dry run: what the saved policy would remove now, its size, and the button that removes it. */
export function cleanupPage(
  ui: SignedInEnv,
  d: { repo: RepositoryView; policy: CleanupPolicyView; report: CleanupReport; values?: CleanupFormValues; errors?: FieldErrors },
): Html {
  const { repo, report } = d;
  const rows = report.versions.map(
    (c) => html`<tr>
      <td><a class="mono" href="${moduleHref(ui, repo.name, c.module, c.version)}">${c.module}@${c.version}</a></td>
      <td>${REASONS[c.reason]}</td>
      <td class="num">${formatSize(c.size)}</td>
    </tr>`,
  );
  const what = `${report.removed} version${report.removed === 1 ? '' : 's'} (${formatSize(report.bytes)})`;
  return layout(ui, {
    title: `Cleanup of ${repo.name}`,
    section: 'repositories',
    body: html`<p class="muted"><a href="${url(ui, '/')}">Repositories</a> / <a href="${repoHref(ui, repo.name)}">${repo.name}</a> /</p>
      <h1>Cleanup of ${repo.name}</h1>
      <section class="panel" aria-labelledby="dry-run-h">
        <h2 id="dry-run-h">Dry run: ${report.removed ? html`${what} would be removed` : 'nothing would be removed'}</h2>
        ${
          rows.length
            ? html`<div class="table-wrap"><table>
                <thead><tr><th scope="col">Version</th><th scope="col">Why</th><th scope="col">Size</th></tr></thead>
                <tbody>${rows}</tbody></table></div>
              <form method="post" action="${repoHref(ui, repo.name, '/cleanup')}"
                data-confirm="Remove ${what} from ${repo.name} now? The policy is applied again as it runs: versions published or deleted since this list may change what goes.">
                ${csrfField(ui)}
                <p class="actions"><button type="submit" class="danger">Remove ${what}</button></p>
              </form>`
            : html`<p class="muted">The policy keeps every version this repository holds now.</p>`
        }
      </section>
      ${cleanupPanel(ui, repo, d.policy, { values: d.values, errors: d.errors })}`,
  });
}
