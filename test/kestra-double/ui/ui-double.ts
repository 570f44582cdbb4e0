/**
 * The stock-UI stand-in of the Kestra double: which UI generation it imitates and the script of its
 * single-page app (./index-double.js, served as /ui/assets/index-double.js).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DoubleRuntime } from '../http.js';

/** 2.0: design-system sidebar (`.ks-sidebar-item`), tenant in UI paths; 1.x: vue-sidebar-menu (`#side-menu`), no tenant. */
export type DoubleUiVersion = '2.0' | '1.x';

/** The app's script, read once. */
export const UI_DOUBLE_SCRIPT = readFileSync(path.join(import.meta.dirname, 'index-double.js'), 'utf8');
export const UI_DOUBLE_ASSET = 'index-double.js';

const versions = new WeakMap<DoubleRuntime, DoubleUiVersion>();

export function setUiVersion(rt: DoubleRuntime, version: DoubleUiVersion): void {
  versions.set(rt, version);
}

export function uiVersionOf(rt: DoubleRuntime): DoubleUiVersion {
  return versions.get(rt) ?? '2.0';
}
