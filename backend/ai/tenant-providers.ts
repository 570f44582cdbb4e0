import type { Envelope, SealedPlace } from '../crypto/envelope.js';
import { DEFAULT_BASE_URLS, type AiConfig, type AiProviderConfig, type AiProviderKind, type AiTenantProviderInput, type AiTenantProviderView } from '../../lib/schemas/ai.js';
import { conflict, HttpError, notFound } from '../http/errors.js';
import type { Store } from '../store/database.js';
import type { AiProvidersTable } from '../store/schema.js';

/*
 * A tenant's own AI providers (issue 24, point 1): kept in `ai_providers` with the key sealed by the
 * envelope, never answered. When a tenant has providers of its own, they are the copilot's providers
 * in that tenant, in place of the instance's configured ones (which stay every other tenant's).
 */

const rowId = (tenant: string, providerId: string) => `${tenant}:${providerId}`;
const keyPlace = (id: string): SealedPlace => ({ table: 'ai_providers', column: 'api_key', id });

/** The providers a generation may use in one tenant, and where they come from. */
export interface TenantProviders {
  from: 'tenant' | 'instance';
  providers: AiProviderConfig[];
}

export function toTenantProviderView(row: AiProvidersTable): AiTenantProviderView {
  return {
    id: row.provider_id,
    displayName: row.display_name,
    kind: row.kind as AiProviderKind,
    baseUrl: row.base_url,
    model: row.model,
    isDefault: row.is_default === 1,
    timeoutSeconds: Number(row.timeout_seconds),
    maxOutputTokens: Number(row.max_output_tokens),
    hasApiKey: row.api_key !== null,
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/**
 * Where a tenant's provider may be reached: the providers' public APIs and the hosts the instance
 * allows (`ai.tenantProviderHosts`). A tenant admin must not point Perch at whatever it can reach.
 */
export function checkTenantProviderAddress(config: AiConfig, kind: AiProviderKind, baseUrl: string | undefined): void {
  const url = new URL(baseUrl ?? DEFAULT_BASE_URLS[kind]);
  const publicHosts = Object.values(DEFAULT_BASE_URLS).map((u) => new URL(u)).filter((u) => u.protocol === 'https:').map((u) => u.host);
  const allowed = new Set([...publicHosts, ...config.tenantProviderHosts.map((h) => h.toLowerCase())]);
  if (allowed.has(url.host) || allowed.has(url.hostname)) return;
  throw new HttpError(422, `AI provider address ${url.host} is not allowed for a tenant's provider: an instance owner adds it to ai.tenantProviderHosts (allowed: ${[...allowed].join(', ')})`);
}

export class TenantProviderStore {
  constructor(private readonly db: Store, private readonly envelope: Envelope) {}

  list(tenant: string): Promise<AiProvidersTable[]> {
    return this.db.selectFrom('ai_providers').selectAll().where('tenant_id', '=', tenant).orderBy('provider_id').execute();
  }

  async find(tenant: string, providerId: string): Promise<AiProvidersTable | undefined> {
    return this.db.selectFrom('ai_providers').selectAll().where('id', '=', rowId(tenant, providerId)).executeTakeFirst();
  }

  /** A new provider of the tenant; 409 when the tenant has one with that id. */
  async create(tenant: string, input: AiTenantProviderInput): Promise<AiProvidersTable> {
    const id = rowId(tenant, input.id);
    const now = Date.now();
    const row: AiProvidersTable = {
      id,
      tenant_id: tenant,
      provider_id: input.id,
      ...this.fields(id, input, null),
      created_at: now,
      updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('ai_providers').select('id').where('id', '=', id).executeTakeFirst()) throw conflict(`AI provider ${input.id} already exists in tenant ${tenant}`);
      if (input.isDefault) await trx.updateTable('ai_providers').set({ is_default: 0 }).where('tenant_id', '=', tenant).execute();
      await trx.insertInto('ai_providers').values(row).execute();
    });
    return row;
  }

  /** Replaces a provider's settings; an absent key keeps the stored one. 404 when the tenant has no such provider. */
  async update(tenant: string, input: AiTenantProviderInput): Promise<AiProvidersTable> {
    const id = rowId(tenant, input.id);
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('ai_providers').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound(`AI provider ${input.id} not found in tenant ${tenant}`);
      if (input.isDefault) await trx.updateTable('ai_providers').set({ is_default: 0 }).where('tenant_id', '=', tenant).execute();
      const changed = { ...this.fields(id, input, current.api_key), updated_at: Date.now() };
      await trx.updateTable('ai_providers').set(changed).where('id', '=', id).execute();
      return { ...current, ...changed };
    });
  }

  async remove(tenant: string, providerId: string): Promise<void> {
    const result = await this.db.deleteFrom('ai_providers').where('id', '=', rowId(tenant, providerId)).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw notFound(`AI provider ${providerId} not found in tenant ${tenant}`);
  }

  /** The tenant's own providers (keys opened) when it has any, else the instance's configured ones. */
  async providersOf(tenant: string, instance: AiProviderConfig[]): Promise<TenantProviders> {
    const rows = await this.list(tenant);
    if (rows.length === 0) return { from: 'instance', providers: instance };
    return { from: 'tenant', providers: rows.map((row) => this.toConfig(row)) };
  }

  private toConfig(row: AiProvidersTable): AiProviderConfig {
    const view = toTenantProviderView(row);
    return {
      id: view.id,
      ...(view.displayName ? { displayName: view.displayName } : {}),
      kind: view.kind,
      ...(view.baseUrl ? { baseUrl: view.baseUrl } : {}),
      model: view.model,
      ...(row.api_key ? { apiKey: this.envelope.openText(row.api_key, keyPlace(row.id)) } : {}),
      isDefault: view.isDefault,
      timeoutSeconds: view.timeoutSeconds,
      maxOutputTokens: view.maxOutputTokens,
    };
  }

  private fields(id: string, input: AiTenantProviderInput, storedKey: string | null) {
    const apiKey = input.apiKey !== undefined ? this.envelope.seal(input.apiKey, keyPlace(id)) : storedKey;
    if (apiKey === null && input.kind !== 'ollama') throw new HttpError(422, `AI provider ${input.id} (${input.kind}) needs an apiKey`);
    return {
      display_name: input.displayName ?? null,
      kind: input.kind,
      base_url: input.baseUrl ?? null,
      model: input.model,
      api_key: apiKey,
      is_default: input.isDefault ? 1 : 0,
      timeout_seconds: input.timeoutSeconds,
      max_output_tokens: input.maxOutputTokens,
    };
  }
}
