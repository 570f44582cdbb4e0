import type { Feature } from './feature';
import banner from '../features/banner';

/** Every feature, in mount order. A new screen is one file in components/features/ plus one line here. */
export const FEATURES: readonly Feature[] = [banner];
