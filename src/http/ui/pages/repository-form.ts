import type { WritePolicy } from '../../../db/schema';
import type { RepositoryView } from '../../../repos/repository-service';
import { checkboxField, type FieldErrors, formErrorBox, selectField, textArea, textField } from '../forms';
import { attrs, type Html, html } from '../html';
import { csrfField, layout, url } from '../layout';
import type { UiEnv } from '../session';

/** What the create/edit form holds; also what a refused submission is re-rendered with. */
export interface RepositoryFormValues {
  format: string;
  type: string;
  name: string;
  description: string;
  remoteUrl: string;
  upstreamUsername: string;
  /** A proxy's settings.checksumVerification ("sumdb" or "off") and settings.noSumdbPatterns (GONOSUMDB syntax). */
  checksumVerification: string;
  noSumdbPatterns: string;
  /** A proxy's settings.gosumdb (GOSUMDB syntax); empty: the server's checksum database. */
  gosumdb: string;
  /** Path patterns as typed, comma-separated: a hosted repository's namespaces, a proxy's include and exclude rules. */
  namespaces: string;
  includePaths: string;
  excludePaths: string;
  /** Ordered member names. */
  members: string[];
  anonymousRead: boolean;
  writePolicy: string;
}

export const WRITE_POLICIES: [WritePolicy, string][] = [
  ['allow_once', 'Allow once: a version, once published, never changes'],
  ['allow', 'Allow redeploy: a version may be replaced'],
  ['deny', 'Read-only: no uploads'],
];

export const EMPTY_FORM: RepositoryFormValues = {
  format: 'go',
  type: 'hosted',
  name: '',
  description: '',
  remoteUrl: '',
  upstreamUsername: '',
  checksumVerification: 'sumdb',
  noSumdbPatterns: '',
  gosumdb: '',
  namespaces: '',
  includePaths: '',
  excludePaths: '',
  members: [],
  anonymousRead: false,
  writePolicy: 'allow_once',
};

export function formValuesOf(view: RepositoryView): RepositoryFormValues {
  return {
    format: view.format,
    type: view.type,
    name: view.name,
    description: view.description,
    remoteUrl: view.remoteUrl ?? '',
    upstreamUsername: typeof view.settings.upstreamUsername === 'string' ? view.settings.upstreamUsername : '',
    checksumVerification: view.settings.checksumVerification === 'off' ? 'off' : 'sumdb',
    noSumdbPatterns: typeof view.settings.noSumdbPatterns === 'string' ? view.settings.noSumdbPatterns : '',
    gosumdb: typeof view.settings.gosumdb === 'string' ? view.settings.gosumdb : '',
    namespaces: view.namespaces.join(', '),
    includePaths: view.includePaths.join(', '),
    excludePaths: view.excludePaths.join(', '),
    members: view.members,
    anonymousRead: view.anonymousRead,
    writePolicy: view.writePolicy,
  };
}

/**
 * Group members as ordered checkboxes: tick the members, number their order. Plain inputs, so the
 * keyboard (Tab, Space, digits) does everything; chosen members are listed first, in their order.
 */
function membersField(candidates: RepositoryView[], chosen: string[], error: string | undefined): Html {
  const byName = new Map(candidates.map((c) => [c.name, c]));
  const ordered = [...chosen.filter((n) => byName.has(n)), ...candidates.map((c) => c.name).filter((n) => !chosen.includes(n))];
  const rows = ordered.map((name, i) => {
    const pos = chosen.indexOf(name);
    return html`<input${attrs({ type: 'checkbox', id: `member-${i}`, name: 'members', value: name, checked: pos >= 0 })}>
      <label for="member-${i}">${name} <span class="badge ${byName.get(name)!.type}">${byName.get(name)!.type}</span></label>
      <span><label class="muted" for="position-${i}">Position</label>
      <input${attrs({ type: 'number', id: `position-${i}`, name: `position:${name}`, min: 1, value: pos >= 0 ? pos + 1 : null })}></span>`;
  });
  return html`<fieldset id="members" class="field${error ? ' has-error' : ''}" data-show-for="group" aria-describedby="members-hint${error ? ' members-error' : ''}">
    <legend>Members</legend>
    <p class="hint" id="members-hint">Tick the repositories this group serves, and number them: the group asks them in that order.</p>
    ${rows.length ? html`<div class="members">${rows}</div>` : html`<p class="muted">No other repositories exist yet.</p>`}
    ${error && html`<p class="field-error" id="members-error">${error}</p>`}
  </fieldset>`;
}

export function repositoryFormPage(
  ui: UiEnv,
  opts: {
    mode: 'create' | 'edit';
    values: RepositoryFormValues;
    candidates: RepositoryView[];
    errors?: FieldErrors;
    passwordSet?: boolean;
  },
): Html {
  const v = opts.values;
  const e = opts.errors ?? {};
  const create = opts.mode === 'create';
  const action = create ? url(ui, '/repositories') : url(ui, `/repositories/${encodeURIComponent(v.name)}/edit`);
  const title = create ? 'Create Repository' : `Edit ${v.name}`;
  const candidates = opts.candidates.filter((c) => c.name !== v.name);
  // The create form carries every type's fields (ui.js shows the chosen type's); an edit form only its own.
  const has = (type: string) => create || v.type === type;
  return layout(ui, {
    title,
    section: 'repositories',
    body: html`<div class="panel narrow">
      <h1>${title}</h1>
      ${formErrorBox(e)}
      <form method="post" action="${action}" novalidate>
        ${csrfField(ui)}
        ${
          create
            ? html`${selectField({ id: 'format', label: 'Format', value: v.format, options: [['go', 'Go']], error: e.format })}
              ${selectField({
                id: 'type',
                label: 'Type',
                value: v.type,
                error: e.type,
                options: [
                  ['hosted', 'hosted: modules you upload'],
                  ['proxy', 'proxy: caches an upstream GOPROXY'],
                  ['group', 'group: several repositories behind one URL'],
                ],
              })}
              ${textField({ id: 'name', label: 'Name', value: v.name, required: true, error: e.name, hint: 'Lowercase letters, digits, ".", "_" and "-"; it becomes part of the GOPROXY URL.' })}`
            : html`<input type="hidden" name="type" value="${v.type}">
              <p class="muted">Format Go · type <span class="badge ${v.type}">${v.type}</span> (neither can change)</p>`
        }
        ${textArea({ id: 'description', label: 'Description', value: v.description, rows: 2, error: e.description })}
        ${
          has('proxy') &&
          textField({
            id: 'remoteUrl',
            label: 'Remote URL',
            type: 'url',
            value: v.remoteUrl,
            placeholder: 'https://goproxy.example.com',
            showFor: ['proxy'],
            error: e.remoteUrl,
            hint: 'The upstream GOPROXY this repository fetches from and caches.',
          })
        }
        ${
          has('proxy') &&
          html`<fieldset data-show-for="proxy" class="${e.upstream ? 'has-error' : ''}">
          <legend>Upstream credentials (optional)</legend>
          ${textField({ id: 'upstreamUsername', label: 'Upstream username', value: v.upstreamUsername, autocomplete: 'off' })}
          ${textField({
            id: 'upstreamPassword',
            label: 'Upstream password',
            type: 'password',
            autocomplete: 'new-password',
            hint: opts.passwordSet ? 'A password is stored; leave this empty to keep it.' : undefined,
          })}
          ${e.upstream && html`<p class="field-error">${e.upstream}</p>`}
        </fieldset>`
        }
        ${
          has('proxy') &&
          html`<fieldset data-show-for="proxy">
          <legend>Checksum database</legend>
          ${selectField({
            id: 'checksumVerification',
            label: 'Checksum verification',
            value: v.checksumVerification,
            options: [
              ['sumdb', 'Check every fetched .zip and .mod against the checksum database'],
              ['off', 'Off: store what the upstream serves'],
            ],
            error: e.checksumVerification,
          })}
          ${textField({
            id: 'noSumdbPatterns',
            label: 'Modules not in the checksum database',
            value: v.noSumdbPatterns,
            placeholder: 'corp.example/*, github.com/acme/private',
            error: e.noSumdbPatterns,
            hint: 'Comma-separated module path patterns, as GONOSUMDB: private modules the database does not know, fetched without the check.',
          })}
          ${textField({
            id: 'gosumdb',
            label: 'Checksum database of this repository (GOSUMDB)',
            value: v.gosumdb,
            placeholder: 'name+hash+key [url]',
            error: e.gosumdb,
            hint: "As the go command's GOSUMDB. With a verifier key, signed tree heads and inclusion proofs are checked. Empty: the server's database.",
          })}
        </fieldset>`
        }
        ${
          has('hosted') &&
          textField({
            id: 'namespaces',
            label: 'Namespaces (module paths this repository owns)',
            value: v.namespaces,
            placeholder: 'corp.example, github.com/myorg/*',
            showFor: ['hosted'],
            error: e.namespaces,
            hint: 'Comma-separated module path patterns, as GOPRIVATE. Through a group, these paths are asked of this repository only, never of a proxy member, so a public module cannot stand in for them; uploads outside them are refused. Empty: owns nothing, takes any path.',
          })
        }
        ${
          has('proxy') &&
          html`<fieldset data-show-for="proxy">
          <legend>Module path rules</legend>
          ${textField({
            id: 'includePaths',
            label: 'Only these paths',
            value: v.includePaths,
            placeholder: 'github.com/*, golang.org/x',
            error: e.includePaths,
            hint: 'Comma-separated module path patterns, as GOPRIVATE: only matching paths are asked of the upstream. Empty: every path.',
          })}
          ${textField({
            id: 'excludePaths',
            label: 'Never these paths',
            value: v.excludePaths,
            placeholder: 'corp.example',
            error: e.excludePaths,
            hint: 'Matching paths are answered 404 at once and never sent to the upstream.',
          })}
        </fieldset>`
        }
        ${has('group') && membersField(candidates, v.members, e.members)}
        ${checkboxField({
          id: 'anonymousRead',
          label: 'Anonymous read',
          checked: v.anonymousRead,
          error: e.anonymousRead,
          // On a fresh create form the box follows the type (on for proxy) until the person touches it.
          inputAttrs: { 'data-follow-type': create && !opts.errors },
          hint: 'Anyone may download without credentials. Off: readers need a read grant.',
        })}
        ${has('hosted') && selectField({ id: 'writePolicy', label: 'Write policy', value: v.writePolicy, options: WRITE_POLICIES, showFor: ['hosted'], error: e.writePolicy })}
        <div class="actions">
          <button type="submit">${create ? 'Create' : 'Save'}</button>
          <a class="button secondary" href="${create ? url(ui, '/') : url(ui, `/repositories/${encodeURIComponent(v.name)}`)}">Cancel</a>
        </div>
      </form>
    </div>`,
  });
}
