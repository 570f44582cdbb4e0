import { browser } from 'wxt/browser';
import { activeAddress } from './perch-addresses';

/** Where the extension stands with its Perch: what the popup says and the toolbar badge shows. */
export type PerchStatus =
  | { kind: 'unset' }
  | { kind: 'no-access'; origin: string }
  | { kind: 'unreachable'; origin: string }
  | { kind: 'up'; origin: string };

/** Perch's liveness probe: it answers without asking Kestra, and without a session. */
export const LIVENESS_PATH = '/perch/health/live';

export async function perchStatus(): Promise<PerchStatus> {
  const parsed = await activeAddress();
  if (!parsed) return { kind: 'unset' };
  const { origin, pattern } = parsed;
  if (!(await browser.permissions.contains({ origins: [pattern] }))) return { kind: 'no-access', origin };
  try {
    const answer = await fetch(`${origin}${LIVENESS_PATH}`, { credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(5_000) });
    const body = (await answer.json()) as { status?: unknown };
    return answer.ok && body.status === 'UP' ? { kind: 'up', origin } : { kind: 'unreachable', origin };
  } catch {
    return { kind: 'unreachable', origin };
  }
}

/** The badge: empty when all is well, "!" with a title saying what is wrong otherwise. */
export const BADGE: Record<PerchStatus['kind'], { text: string; title: string }> = {
  up: { text: '', title: 'Perch for Kestra' },
  unset: { text: '!', title: 'Perch for Kestra: the Perch address is not set' },
  'no-access': { text: '!', title: 'Perch for Kestra: access to the Perch address was not granted' },
  unreachable: { text: '!', title: 'Perch for Kestra: the Perch server does not answer' },
};

export async function showBadge(status: PerchStatus): Promise<void> {
  const { text, title } = BADGE[status.kind];
  await browser.action.setBadgeText({ text });
  await browser.action.setBadgeBackgroundColor({ color: status.kind === 'unreachable' ? '#dc2626' : '#d97706' });
  await browser.action.setTitle({ title });
}

/** Checks the Perch and updates the badge; returns the status for whoever asked. */
export async function refreshBadge(): Promise<PerchStatus> {
  const status = await perchStatus();
  await showBadge(status);
  return status;
}
