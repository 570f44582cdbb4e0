import path from 'node:path';

/** The repository root: this module sits in backend/, or in dist/backend/ once compiled. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, import.meta.dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
