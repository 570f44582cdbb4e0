import { mutationConfig } from './base.mjs';

export default mutationConfig('canonical-request');
