/** The `jobq` command's exit codes, documented in the README's CLI section. */
export const EXIT = Object.freeze({
  /** Done; for `status --wait`, the job completed. */
  ok: 0,
  /** The server answered with an error; for `status --wait`, the job failed or was cancelled. */
  failed: 1,
  /** Could not start: a bad flag or setting, a port in use, a store that cannot open, a server that cannot be reached. */
  usage: 2,
  /** `status --wait`: the job had not finished when --wait-timeout-ms ran out. */
  waitTimedOut: 3,
  /** A second SIGINT/SIGTERM: exited without waiting for running jobs. */
  forced: 130,
});
