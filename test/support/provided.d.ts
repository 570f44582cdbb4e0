// Values that test/support/global-setup.ts hands to test files through `inject()` from 'vitest'.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the PostgreSQL server for this run, or null when PostgreSQL is unavailable (never in CI). */
    postgresUrl: string | null;
  }
}
