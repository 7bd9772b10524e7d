/** Entry point `jobq/client`: a typed HTTP client for a jobq server. */
export { JobqClient, type JobqClientOptions, type JobJson } from './jobq-client.js';
