import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Perch's folder, the first one up from this module that holds package.json: backend/ in the
 * sources; dist/backend/ or dist/backend/chunks/ in the bundle, whichever file this code landed in.
 */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = projectRoot(import.meta.dirname);
