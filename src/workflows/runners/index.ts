/** Script runners, one per family of seed 000's script types. */
export { apiRunner as API_RUNNER, applyErrorToConnectorError, validateApiScript } from './api.ts';
