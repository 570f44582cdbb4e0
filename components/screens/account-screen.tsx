/**
 * The signed-in person's own account, at /perch/account: profile, password (rules shown), own API
 * tokens, own sessions (sign out elsewhere), groups and permissions (from /api/v1/me).
 *
 * Hooks for end-to-end tests: `#perch-account`; sections by their heading; `[data-testid=session-row]`
 * (`data-current` on this session's row), `session-revoke`, `sessions-revoke-others`; the token hooks
 * of components/iam/tokens-panel.tsx; `[data-testid=password-rules]`; `[data-testid=permission-row]`.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { getJson, send } from '../app/api';
import type { FeatureContext } from '../app/feature';
import { loadSession, type Me } from '../app/session';
import { ownGroupListSchema, ownSessionListSchema, passwordRulesSchema, type PasswordRulesView } from '../../lib/schemas/account';
import { displayName } from '../shell/account-menu';
import { ActionError, Badge, CARD, TABLE, TD, TH, useAction } from '../iam/common';
import { TokensPanel } from '../iam/tokens-panel';
import { Button } from '../ui/button';
import { TextField } from '../ui/field';
import { Page } from '../ui/page';
import { ErrorNotice, Loading } from '../ui/states';
import { useCached } from '../ui/use-cached';
import { screenStrings } from './strings';

const s = screenStrings.account;

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title} class="mb-6 max-w-4xl rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900">
      <h2 class="mb-3 text-base font-semibold">{title}</h2>
      {children}
    </section>
  );
}

const when = (iso: string) => new Date(iso).toLocaleString();

function Profile({ me }: { me: Me }) {
  const [firstName, setFirstName] = useState(me.profile.firstName ?? '');
  const [lastName, setLastName] = useState(me.profile.lastName ?? '');
  const [saved, setSaved] = useState(false);
  const action = useAction();
  return (
    <form
      class="grid max-w-xl gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        action.run(() => send('patch', '/api/v1/me', { firstName: firstName.trim() || null, lastName: lastName.trim() || null }).then(() => loadSession()), () => setSaved(true));
      }}
    >
      <TextField label={s.email} value={me.profile.email} readOnly />
      <TextField label={s.firstName} value={firstName} disabled={me.restricted} onInput={(e) => setFirstName(e.currentTarget.value)} />
      <TextField label={s.lastName} value={lastName} disabled={me.restricted} onInput={(e) => setLastName(e.currentTarget.value)} />
      <ActionError error={action.error} onDismiss={action.clear} />
      {!me.restricted && (
        <div class="flex items-center gap-3">
          <Button type="submit" variant="primary">{s.saveProfile}</Button>
          {saved && <span role="status" class="text-green-700 dark:text-green-300">{s.saved}</span>}
        </div>
      )}
    </form>
  );
}

function rulesOf(rules: PasswordRulesView): string[] {
  return [
    s.ruleLength(rules.minLength),
    ...([
      [rules.minDigits, 'digit(s)'],
      [rules.minLowerCase, 'lower-case letter(s)'],
      [rules.minUpperCase, 'upper-case letter(s)'],
      [rules.minSpecial, 'character(s) that are neither letters nor digits'],
    ] as const)
      .filter(([n]) => n > 0)
      .map(([n, what]) => s.ruleClass(n, what)),
    s.ruleRepeat,
  ];
}

function PasswordChange({ me }: { me: Me }) {
  const rules = useCached('account:password-rules', () => getJson('/perch/api/account/password-rules', passwordRulesSchema));
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();
  if (me.restricted) return <p>{s.restricted}</p>;
  return (
    <form
      class="grid max-w-xl gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        setDone(false);
        if (next !== again) return action.run(() => Promise.reject(new Error(s.mismatch)));
        action.run(
          () => send('put', '/api/v1/me/password', { oldPassword: current, newPassword: next }),
          () => {
            setDone(true);
            setCurrent('');
            setNext('');
            setAgain('');
          },
        );
      }}
    >
      {rules.data && (
        <div data-testid="password-rules" class="text-zinc-600 dark:text-zinc-400">
          {s.rules}
          <ul class="ml-5 list-disc">{rulesOf(rules.data).map((rule) => <li key={rule}>{rule}</li>)}</ul>
        </div>
      )}
      <TextField label={s.currentPassword} type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      <TextField label={s.newPassword} type="password" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      <TextField label={s.confirmPassword} type="password" autoComplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
      <ActionError error={action.error} onDismiss={action.clear} />
      <div class="flex items-center gap-3">
        <Button type="submit" variant="primary">{s.changePassword}</Button>
        {done && <span role="status" class="text-green-700 dark:text-green-300">{s.passwordChanged}</span>}
      </div>
    </form>
  );
}

function Sessions() {
  const list = useCached('account:sessions', () => getJson('/api/v1/me/sessions', ownSessionListSchema));
  const action = useAction();
  if (list.error) return <ErrorNotice error={list.error} onRetry={list.reload} />;
  if (!list.data) return <Loading />;
  const others = list.data.results.filter((session) => !session.current);
  return (
    <div class="flex flex-col gap-3">
      <ActionError error={action.error} onDismiss={action.clear} />
      <div class={CARD}>
        <table class={TABLE} aria-label={s.sessionsTable}>
          <thead>
            <tr>
              <th class={TH} scope="col">{s.device}</th>
              <th class={TH} scope="col">{s.address}</th>
              <th class={TH} scope="col">{s.started}</th>
              <th class={TH} scope="col">{s.lastSeen}</th>
              <th class={TH} scope="col"><span class="sr-only">{s.signOutSession}</span></th>
            </tr>
          </thead>
          <tbody>
            {list.data.results.map((session) => (
              <tr key={session.id} data-testid="session-row" data-session-id={session.id} data-current={session.current ? 'true' : undefined}>
                <td class={TD}>
                  <span class="line-clamp-1" title={session.userAgent ?? ''}>{session.userAgent ?? '—'}</span> {session.current && <Badge tone="accent">{s.thisSession}</Badge>}
                </td>
                <td class={`${TD} font-mono text-xs`}>{session.ip ?? '—'}</td>
                <td class={TD}>{when(session.createdAt)}</td>
                <td class={TD}>{when(session.lastSeenAt)}</td>
                <td class={`${TD} text-right`}>
                  {!session.current && (
                    <Button variant="ghost" data-testid="session-revoke" onClick={() => action.run(() => send('delete', `/api/v1/me/sessions/${session.id}`), list.reload)}>
                      {s.signOutSession}
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {others.length === 0 ? (
        <p class="text-zinc-500 dark:text-zinc-400">{s.noOtherSessions}</p>
      ) : (
        <div>
          <Button variant="danger" data-testid="sessions-revoke-others" onClick={() => action.run(() => send('delete', '/api/v1/me/sessions'), list.reload)}>
            {s.signOutOthers}
          </Button>
        </div>
      )}
    </div>
  );
}

function Access({ me }: { me: Me }) {
  const groups = useCached('account:groups', () => getJson('/perch/api/account/groups', ownGroupListSchema));
  if (me.superAdmin) return <p data-testid="instance-owner">{s.instanceOwner}</p>;
  const scopes: [string, Partial<Record<string, readonly string[]>>][] = [
    [s.tenantWide, me.permissions.tenantWide],
    ...Object.entries(me.permissions.namespaces).map(([ns, p]) => [s.onNamespace(ns), p] as [string, Partial<Record<string, readonly string[]>>]),
  ];
  const rows = scopes.flatMap(([where, map]) => Object.entries(map).map(([resource, actions]) => ({ where, resource, actions: actions ?? [] })));
  return (
    <div class="flex flex-col gap-3">
      <p>
        <strong>{s.groups}:</strong>{' '}
        <span data-testid="own-groups">{groups.data ? (groups.data.results.length ? groups.data.results.map((g) => g.name).join(', ') : s.noGroups) : '…'}</span>
      </p>
      {rows.length === 0 ? (
        <p>{s.nothing}</p>
      ) : (
        <div class={CARD}>
          <table class={TABLE} aria-label={s.access}>
            <tbody>
              {rows.map((row) => (
                <tr key={`${row.where}|${row.resource}`} data-testid="permission-row">
                  <td class={TD}>{row.where}</td>
                  <td class={`${TD} font-mono text-xs`}>{row.resource}</td>
                  <td class={`${TD} font-mono text-xs`}>{row.actions.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function AccountScreen({ context }: { context: FeatureContext }) {
  const { me } = context;
  return (
    <div id="perch-account">
      <Page title={`${s.title}: ${displayName(me)}`}>
        <Section title={s.profile}>
          <Profile me={me} />
        </Section>
        <Section title={s.password}>
          <PasswordChange me={me} />
        </Section>
        <Section title={s.tokens}>
          <p class="mb-3 text-zinc-600 dark:text-zinc-400">{s.tokensNote}</p>
          <TokensPanel path="/api/v1/me/api-tokens" cacheKey="account:tokens" manage />
        </Section>
        <Section title={s.sessions}>
          <Sessions />
        </Section>
        <Section title={s.access}>
          <Access me={me} />
        </Section>
      </Page>
    </div>
  );
}
