import { mutationConfig } from './base.mjs';

export default mutationConfig('decision-index');
