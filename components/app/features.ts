import type { Feature } from './feature';
import banner from '../features/banner';
import iamPage from '../features/iam-page';
import auditLogPage from '../features/audit-log-page';
import topBar from '../features/top-bar';
import sidebarEntries from '../features/sidebar-entries';
import tenantsPage from '../features/tenants-page';
import instancePage from '../features/instance-page';
import appsPage from '../features/apps-page';
import notInPerchPage from '../features/not-in-perch-page';
import namespaceSecrets from '../features/namespace-secrets';
import flowCopilot from '../features/flow-copilot';
import aiSettings from '../features/ai-settings';
import executionCopilot from '../features/execution-copilot';

/** Every feature, in mount order. A new screen is one file in components/features/ plus one line here. */
export const FEATURES: readonly Feature[] = [banner, topBar, sidebarEntries, iamPage, auditLogPage, tenantsPage, instancePage, appsPage, namespaceSecrets, aiSettings, flowCopilot, executionCopilot, notInPerchPage];
