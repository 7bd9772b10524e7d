/** A failure to start (a bad setting, a port in use, a store that cannot open): one line on stderr, exit 2. */
export class StartupError extends Error {}
