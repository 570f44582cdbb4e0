import { mutationConfig } from './base.mjs';

export default mutationConfig('flow-references');
