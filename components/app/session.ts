import { signal } from '@preact/signals';
import { z } from 'zod';
import { apiMeWithPermissionsSchema } from '../../lib/schemas/users';
import { perchUiConfigSchema, type PerchUiConfig } from '../../lib/schemas/ui-config';
import { PERMISSION_CATALOGUE, type Action, type Resource } from '../../lib/authz/catalogue';
import { getJson } from './api';
import { adoptCacheOwner } from './cache';

export type Me = z.infer<typeof apiMeWithPermissionsSchema>;

/** The signed-in person with their effective permissions (null before it loaded or when signed out). */
export const me = signal<Me | null>(null);
/** Perch's UI configuration: announcements, maintenance, custom links. */
export const uiConfig = signal<PerchUiConfig | null>(null);

export async function loadSession(): Promise<Me | null> {
  const [person, config] = await Promise.all([
    getJson('/api/v1/me', apiMeWithPermissionsSchema).catch(() => null),
    getJson('/perch/api/ui-config', perchUiConfigSchema).catch(() => null),
  ]);
  await adoptCacheOwner(person?.id ?? null);
  me.value = person;
  uiConfig.value = config;
  return person;
}

/**
 * Whether the person holds `action` on `resource` tenant-wide (or, with `anywhere`, on at least one
 * namespace). Screens use it to show only what may be used; Perch enforces on every call anyway.
 */
export function can(person: Me | null, resource: Resource, action: Action, scope: 'tenant' | 'anywhere' = 'tenant'): boolean {
  if (!person) return false;
  if (person.superAdmin) return true;
  const held = (p: Partial<Record<string, readonly string[]>> | undefined) => (p?.[resource] ?? []).includes(action);
  if (held(person.permissions.tenantWide)) return true;
  return scope === 'anywhere' && Object.values(person.permissions.namespaces).some((p) => held(p));
}

/** Whether the person holds any action at all on `resource` (tenant-wide or on a namespace). */
export function canSee(person: Me | null, resource: Resource): boolean {
  return PERMISSION_CATALOGUE[resource].some((action) => can(person, resource, action, 'anywhere'));
}
