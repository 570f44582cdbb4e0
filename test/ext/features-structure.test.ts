import { describe, expect, it } from 'vitest';
import { ANCHORS, type AnchorName } from '../../components/app/anchors';
import type { Feature } from '../../components/app/feature';
import { FEATURES } from '../../components/app/features';
import registry from '../../components/app/features.ts?raw';

/**
 * The refined-github habit: one feature = one file in components/features/ named by its id, each
 * registered once in components/app/features.ts, each attached to a landmark of the anchors table.
 */
const files = import.meta.glob<{ default: Feature }>('../../components/features/*.tsx', { eager: true });
const byName = new Map(Object.entries(files).map(([path, module]) => [/([^/]+)\.tsx$/.exec(path)![1]!, module]));
const anchorNames = new Set(Object.keys(ANCHORS['2.0']));

describe('features', () => {
  it('finds the feature files', () => {
    expect(byName.size).toBeGreaterThan(0);
    expect(byName.has('banner')).toBe(true);
  });

  describe.each([...byName.entries()])('components/features/%s.tsx', (name, module) => {
    const feature = module.default;

    it('exports a feature whose id is its file name', () => {
      expect(feature, 'default export').toBeDefined();
      expect(feature.id).toBe(name);
    });

    it('is registered in features.ts, once', () => {
      expect(FEATURES).toContain(feature);
      expect(FEATURES.filter((f) => f.id === name)).toHaveLength(1);
      expect(registry).toContain(`'../features/${name}'`);
    });

    it('declares routes and an anchor of the anchors table', () => {
      expect(feature.routes.length).toBeGreaterThan(0);
      for (const route of feature.routes) {
        expect(route).not.toBe('');
        expect(route, 'routes are below the tenant, without slashes at either end').not.toMatch(/^\/|\/$/);
      }
      expect(anchorNames.has(feature.anchor as AnchorName)).toBe(true);
      for (const version of Object.keys(ANCHORS) as (keyof typeof ANCHORS)[]) expect(ANCHORS[version][feature.anchor]).toBeTruthy();
      expect(['replace', 'before', 'after', 'prepend', 'append']).toContain(feature.placement);
      expect(feature.title.trim()).not.toBe('');
    });
  });

  it('registers only features that exist as a file', () => {
    for (const feature of FEATURES) expect(byName.get(feature.id)?.default, feature.id).toBe(feature);
    expect(new Set(FEATURES.map((f) => f.id)).size).toBe(FEATURES.length);
  });
});
