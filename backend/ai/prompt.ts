import type { FlowGenerationPrompt } from '../../lib/schemas/ai.js';

/**
 * The instructions the model gets: the flow to change, its namespace, the plugin types Kestra has and the
 * properties of those the flow uses or the request names (as Kestra documents them).
 */
export function systemPrompt(body: FlowGenerationPrompt, pluginTypes: string[], pluginProperties: string[] = []): string {
  const parts = [
    'You write and edit Kestra flows. Answer with one complete flow as YAML, in a ```yaml block, and nothing else.',
    'A flow has an `id`, a `namespace` and a non-empty `tasks` list; each task has a unique `id` and a `type`.',
    `Use only these plugin types (the ones this Kestra has installed):\n${pluginTypes.join('\n')}`,
  ];
  if (pluginProperties.length > 0) parts.push(`Properties of the plugin types involved (name, type, whether required, default, title):\n${pluginProperties.join('\n')}`);
  if (body.namespace) parts.push(`The flow belongs to namespace ${body.namespace}; keep that namespace.`);
  if (body.yaml) parts.push(`The flow currently in the editor, to be changed (keep its id and namespace unless asked otherwise):\n\`\`\`yaml\n${body.yaml}\n\`\`\``);
  else parts.push('There is no flow yet: write a new one.');
  return parts.join('\n\n');
}
