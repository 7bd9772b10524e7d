/**
 * The types with pending jobs in a queue ($1), found by skipping through
 * jobs_claim (one index probe per type): the claims of a node that handles
 * any type read them first.
 */
export const pendingTypesSql = (s: string) => `WITH RECURSIVE t(type) AS (
         (SELECT type FROM ${s}.jobs WHERE status = 'pending' AND queue = $1 ORDER BY type LIMIT 1)
         UNION ALL
         SELECT (SELECT j.type FROM ${s}.jobs j WHERE j.status = 'pending' AND j.queue = $1 AND j.type > t.type ORDER BY j.type LIMIT 1)
           FROM t WHERE t.type IS NOT NULL)
       SELECT type FROM t WHERE type IS NOT NULL`;
