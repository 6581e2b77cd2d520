import type { AuditRecord } from '../../../audit';
import { type FieldErrors, formErrorBox, textField } from '../forms';
import { type Html, html } from '../html';
import { layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { formatTime } from './repository';

/** The filter form's values as typed (dates as YYYY-MM-DD), echoed back into the form and the "older" link. */
export interface AuditFilterForm {
  actor: string;
  action: string;
  repository: string;
  from: string;
  to: string;
}

function detailsText(details: Record<string, unknown>): string {
  const entries = Object.entries(details).filter(([, v]) => v !== undefined && v !== null);
  return entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

export function auditPage(
  ui: SignedInEnv,
  opts: { entries: AuditRecord[]; filter: AuditFilterForm; nextCursor: string | null; errors?: FieldErrors },
): Html {
  const f = opts.filter;
  const e = opts.errors ?? {};
  const rows = opts.entries.map(
    (a) => html`<tr>
      <td class="nowrap">${formatTime(a.at.toISOString())}</td>
      <td>${a.actor ?? html`<span class="muted">server</span>`}</td>
      <td><code>${a.action}</code></td>
      <td>${a.repository ?? ''}</td>
      <td class="mono">${a.target ?? ''}</td>
      <td class="mono">${detailsText(a.details)}</td>
      <td class="mono">${a.clientAddress ?? ''}</td>
    </tr>`,
  );
  const older = opts.nextCursor
    ? url(ui, `/audit?${new URLSearchParams({ ...Object.fromEntries(Object.entries(f).filter(([, v]) => v)), cursor: opts.nextCursor })}`)
    : null;
  return layout(ui, {
    title: 'Audit log',
    section: 'audit',
    body: html`<h1>Audit log</h1>
      <p class="muted">Who changed what: repositories, published and deleted versions, users, tokens and grants. Newest first.</p>
      <section class="panel" aria-labelledby="audit-filter-h">
        <h2 id="audit-filter-h">Filter</h2>
        ${formErrorBox(e)}
        <form method="get" action="${url(ui, '/audit')}" class="filters">
          ${textField({ id: 'audit-actor', name: 'actor', label: 'User', value: f.actor, autocomplete: 'off' })}
          ${textField({ id: 'audit-action', name: 'action', label: 'Action', value: f.action, hint: 'e.g. module.publish, or repository.* for every repository action', autocomplete: 'off', error: e.action })}
          ${textField({ id: 'audit-repository', name: 'repository', label: 'Repository', value: f.repository, autocomplete: 'off' })}
          ${textField({ id: 'audit-from', name: 'from', label: 'From (day, UTC)', type: 'date', value: f.from, error: e.from })}
          ${textField({ id: 'audit-to', name: 'to', label: 'To (day, UTC, included)', type: 'date', value: f.to, error: e.to })}
          <button type="submit">Show</button> <a href="${url(ui, '/audit')}">Clear</a>
        </form>
      </section>
      ${
        opts.entries.length
          ? html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Action</th><th scope="col">Repository</th><th scope="col">Target</th><th scope="col">Details</th><th scope="col">Client</th></tr></thead>
        <tbody>${rows}</tbody></table></div>`
          : html`<p class="muted">No entries match.</p>`
      }
      ${older && html`<p><a href="${older}" rel="next">Older entries →</a></p>`}`,
  });
}
