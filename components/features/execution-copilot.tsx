/**
 * The AI copilot on a failed execution's page (/ui/{tenant}/executions/{namespace}/{flowId}/{id}/{tab}),
 * below the execution's banner: "Explain this failure" and "Propose a fix", for people holding
 * COPILOT:USE who can read the execution. Hooks: see components/ai/execution-help-panel.tsx.
 */
import { defineFeature } from '../app/feature';
import { can } from '../app/session';
import { ExecutionHelpPanel } from '../ai/execution-help-panel';
import { executionHelpTexts } from '../ai/strings';

export default defineFeature({
  id: 'execution-copilot',
  routes: ['executions/*/*/*'],
  anchor: 'executionBanner',
  placement: 'after',
  title: executionHelpTexts.title,
  visibleTo: (me) => can(me, 'COPILOT', 'USE'),
  render: (context) => {
    const [, namespace = '', flowId = '', executionId = ''] = context.route.path.split('/').map(decodeURIComponent);
    return <ExecutionHelpPanel tenant={context.tenant} uiTenant={context.route.tenant} namespace={namespace} flowId={flowId} executionId={executionId} />;
  },
});
