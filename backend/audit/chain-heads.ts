import { sql } from 'kysely';
import type { Store } from '../store/database.js';

/**
 * Every chain with its last `seq`, read from the primary key `(tenant_id, seq)` one chain at a time
 * (a skip scan: the next chain is the smallest tenant_id after the previous one, its head the largest
 * seq under it): a few index probes per chain, where `GROUP BY tenant_id` reads every entry of the log.
 * The shipper asks this at every pass (each second by default), so it must not grow with the log.
 */
export async function chainHeads(db: Store): Promise<Array<{ tenant_id: string; last: number }>> {
  const { rows } = await sql<{ tenant_id: string; last: number | string }>`
    with recursive chains(tenant_id) as (
      select min(tenant_id) from audit_log
      union all
      select (select min(a.tenant_id) from audit_log a where a.tenant_id > chains.tenant_id) from chains where chains.tenant_id is not null
    )
    select chains.tenant_id as tenant_id, (select max(h.seq) from audit_log h where h.tenant_id = chains.tenant_id) as last
    from chains where chains.tenant_id is not null order by chains.tenant_id`.execute(db);
  return rows.map((r) => ({ tenant_id: r.tenant_id, last: Number(r.last) }));
}
