import { DOCKER_RUNNER, type Placement, type PlacementRules, type ScriptTask } from '../authz/script-placement.js';

/*
 * The rules of docs/design/worker-groups.md §4, from the registry held in memory (the proxy's hot
 * path reads no database): in a namespace bound to a group, every script task names the Docker
 * runner and one of the group's hosts, literally; anywhere, a host reserved by a group is used only
 * from its namespaces. Replaced whole after every registry change.
 */

interface Group { id: string; hosts: readonly string[] }

export class WorkerGroupPlacement implements PlacementRules {
  private byNamespace = new Map<string, Group>();
  private byHost = new Map<string, Group>();

  /** Takes the registry as it now is. */
  load(groups: ReadonlyArray<{ id: string; targets: ReadonlyArray<{ host: string }>; namespaces: readonly string[] }>): void {
    const byNamespace = new Map<string, Group>();
    const byHost = new Map<string, Group>();
    for (const g of groups) {
      const group: Group = { id: g.id, hosts: g.targets.map((t) => t.host) };
      for (const ns of g.namespaces) byNamespace.set(ns, group);
      for (const host of group.hosts) byHost.set(host, group);
    }
    this.byNamespace = byNamespace;
    this.byHost = byHost;
  }

  /** The group of the namespace or of its nearest bound ancestor. */
  groupOf(namespace: string): Group | undefined {
    for (let ns = namespace; ; ns = ns.slice(0, ns.lastIndexOf('.'))) {
      const group = this.byNamespace.get(ns);
      if (group) return group;
      if (!ns.includes('.')) return undefined;
    }
  }

  refusals(namespace: string, placement: Placement): string[] {
    if (this.byNamespace.size === 0 && this.byHost.size === 0) return [];
    const group = this.groupOf(namespace);
    const out: string[] = [];
    if (group && placement.defaultsLine !== undefined) {
      out.push(`pluginDefaults (line ${placement.defaultsLine}) are not accepted in namespace ${namespace}, bound to worker group "${group.id}"`);
    }
    for (const task of placement.scripts) {
      const why = group ? this.outsideGroup(task, group) : this.reservedHost(task, namespace);
      if (why) out.push(`task "${task.id}" (line ${task.line}) ${why}`);
    }
    return out;
  }

  private outsideGroup(task: ScriptTask, group: Group): string | null {
    const fix = group.hosts.length
      ? `; set taskRunner {type: ${DOCKER_RUNNER}, host: ${group.hosts.join(' | ')}}`
      : ` (the group has no target yet)`;
    const must = `must run on worker group "${group.id}"`;
    if (task.inWorker) return `runs inside Kestra's worker (${task.type}); a namespace bound to worker group "${group.id}" only runs scripts on the group's targets`;
    if (task.legacy) return `uses the legacy docker/runner properties; it ${must}${fix}`;
    if (task.runnerType.kind !== 'literal') return `${task.runnerType.kind === 'absent' ? 'names no taskRunner' : 'names its taskRunner by an expression'}; it ${must}${fix}`;
    if (task.runnerType.value !== DOCKER_RUNNER) return `uses the task runner ${task.runnerType.value}; it ${must}${fix}`;
    if (task.host.kind === 'absent') return `names no Docker host (it would run on the worker's own Docker); it ${must}${fix}`;
    if (task.host.kind === 'dynamic') return `names its Docker host by an expression; it ${must}${fix}`;
    if (!group.hosts.includes(task.host.value)) return `uses the Docker host ${task.host.value}, not a target of worker group "${group.id}"${fix}`;
    return null;
  }

  /** Outside any bound namespace, only a group's own namespaces may use its hosts. */
  private reservedHost(task: ScriptTask, namespace: string): string | null {
    if (task.host.kind !== 'literal') return null;
    const owner = this.byHost.get(task.host.value);
    return owner ? `uses the Docker host ${task.host.value} of worker group "${owner.id}", which namespace ${namespace} is not bound to` : null;
  }
}
