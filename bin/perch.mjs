#!/usr/bin/env node
// Runs the TypeScript CLI directly: Perch ships its sources, tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
await import('../backend/cli.ts');
