import { mutationConfig } from './base.mjs';

export default mutationConfig('audit-chain');
