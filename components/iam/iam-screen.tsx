import { useEffect, useRef, useState } from 'preact/hooks';
import { navigate } from '../app/routes';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { Empty } from '../ui/states';
import { Page, Tabs } from '../ui/page';
import { BindingsTab } from './bindings-tab';
import { GroupsTab } from './groups-tab';
import { InvitationsTab } from './invitations-tab';
import { RolesTab } from './roles-tab';
import { ServiceAccountsTab } from './service-accounts-tab';
import { UsersTab } from './users-tab';

const t = strings.iam;

export type IamTab = 'users' | 'groups' | 'roles' | 'bindings' | 'service-accounts' | 'invitations';

/** The tabs the person may use, in display order (users: instance owners only, the routes are instance-wide). */
export function visibleTabs(me: Me): { id: IamTab; title: string }[] {
  const tabs: { id: IamTab; title: string; shown: boolean }[] = [
    { id: 'users', title: t.tabs.users, shown: me.superAdmin },
    { id: 'groups', title: t.tabs.groups, shown: can(me, 'GROUP', 'LIST') },
    { id: 'roles', title: t.tabs.roles, shown: can(me, 'ROLE', 'LIST') },
    { id: 'bindings', title: t.tabs.bindings, shown: can(me, 'BINDING', 'LIST') },
    { id: 'service-accounts', title: t.tabs.serviceAccounts, shown: can(me, 'SERVICE_ACCOUNT', 'LIST') },
    { id: 'invitations', title: t.tabs.invitations, shown: can(me, 'INVITATION', 'VIEW') },
  ];
  return tabs.filter((tab) => tab.shown).map(({ id, title }) => ({ id, title }));
}

const tabInUrl = () => new URLSearchParams(location.search).get('tab');

/**
 * Switching tabs changes the URL (so back/forward move between tabs). Should that make the screen
 * mount afresh (a host page re-rendering the landmark), the new copy gives the selected tab the
 * focus back when it mounts right after a switch.
 */
let focusTabUntil = 0;

export function IamScreen({ tenant, me }: { tenant: string; me: Me }) {
  const tabs = visibleTabs(me);
  const [wanted, setWanted] = useState(tabInUrl);
  const selected = tabs.find((tab) => tab.id === wanted)?.id ?? tabs[0]?.id;
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const follow = () => setWanted(tabInUrl());
    addEventListener('popstate', follow);
    if (Date.now() < focusTabUntil) {
      focusTabUntil = 0;
      root.current?.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.focus();
    }
    return () => removeEventListener('popstate', follow);
  }, []);
  const select = (id: IamTab) => {
    const query = new URLSearchParams(location.search);
    query.set('tab', id);
    focusTabUntil = Date.now() + 1_000;
    navigate(`${location.pathname}?${query.toString()}`);
    setWanted(id);
  };
  const title = tabs.find((tab) => tab.id === selected)?.title ?? t.title;
  return (
    <div id="perch-iam" ref={root} data-tab={selected}>
      <Page title={t.title}>
        {selected === undefined ? (
          <Empty text={t.nothingAllowed} />
        ) : (
          <>
            <Tabs tabs={tabs} selected={selected} onSelect={select} label={t.tabsLabel} />
            <div role="tabpanel" aria-label={title}>
              {selected === 'users' && <UsersTab />}
              {selected === 'groups' && <GroupsTab tenant={tenant} me={me} />}
              {selected === 'roles' && <RolesTab tenant={tenant} me={me} />}
              {selected === 'bindings' && <BindingsTab tenant={tenant} me={me} />}
              {selected === 'service-accounts' && <ServiceAccountsTab tenant={tenant} me={me} />}
              {selected === 'invitations' && <InvitationsTab tenant={tenant} me={me} />}
            </div>
          </>
        )}
      </Page>
    </div>
  );
}
