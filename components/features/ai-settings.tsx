/**
 * The tenant's AI copilot settings (its own providers, the token budgets' use), above the stock flow
 * editor next to the copilot panel, folded, for people holding TENANT_SETTINGS:VIEW in the tenant
 * (UPDATE to change them; Perch refuses the API to anyone else anyway). Hooks: see
 * components/ai/ai-settings.tsx.
 */
import { defineFeature } from '../app/feature';
import { can } from '../app/session';
import { AiSettings } from '../ai/ai-settings';
import { aiSettingsTexts } from '../ai/strings';

export default defineFeature({
  id: 'ai-settings',
  routes: ['flows/edit/*/*/edit'],
  anchor: 'flowEditor',
  placement: 'before',
  title: aiSettingsTexts.title,
  visibleTo: (me) => can(me, 'TENANT_SETTINGS', 'VIEW'),
  render: (context) => <AiSettings tenant={context.tenant} mayChange={can(context.me, 'TENANT_SETTINGS', 'UPDATE')} />,
});
