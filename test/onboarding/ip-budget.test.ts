import { describe, expect, it } from 'vitest';
import { IpBudget } from '../../backend/onboarding/password-reset.js';

describe('password reset: the per-address budget is bounded', () => {
  it('tracks at most its bound of addresses, ended windows and then the oldest going first, and still counts the ones it keeps', () => {
    const budget = new IpBudget(2, 60_000, 3);
    expect(budget.allow('10.0.0.1', 0)).toBe(true);
    expect(budget.allow('10.0.0.1', 0)).toBe(true);
    expect(budget.allow('10.0.0.1', 0)).toBe(false); // over its budget of 2
    budget.allow('10.0.0.2', 1_000);
    budget.allow('10.0.0.3', 2_000);
    for (let i = 0; i < 50; i++) budget.allow(`192.0.2.${i}`, 3_000 + i);
    expect(budget.tracked).toBe(3);
    // The latest addresses are still counted within their window.
    expect(budget.allow('192.0.2.49', 4_000)).toBe(true);
    expect(budget.allow('192.0.2.49', 4_000)).toBe(false);
  });
});
