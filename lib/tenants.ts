/** Kestra OSS has one fixed tenant; every Perch IAM row names its tenant from day one. */
export const DEFAULT_TENANT = 'main';
