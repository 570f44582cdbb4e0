/**
 * The AI copilot above the stock flow editor (/ui/{tenant}/flows/edit/{namespace}/{id}/edit), for people
 * holding COPILOT:USE in the tenant (Perch refuses the generation to anyone else anyway). Hooks: see
 * components/ai/copilot-panel.tsx.
 */
import { defineFeature } from '../app/feature';
import { can } from '../app/session';
import { CopilotPanel } from '../ai/copilot-panel';
import { copilotTexts } from '../ai/strings';

export default defineFeature({
  id: 'flow-copilot',
  routes: ['flows/edit/*/*/edit'],
  anchor: 'flowEditor',
  placement: 'before',
  title: copilotTexts.title,
  visibleTo: (me) => can(me, 'COPILOT', 'USE'),
  render: (context) => {
    const [, , namespace = '', flowId = ''] = context.route.path.split('/');
    return <CopilotPanel tenant={context.tenant} namespace={decodeURIComponent(namespace)} flowId={decodeURIComponent(flowId)} />;
  },
});
