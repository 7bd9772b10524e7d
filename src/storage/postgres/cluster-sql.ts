/** SQL for the Postgres backend's queues, nodes, leaderships and event subscribers. */
export function clusterStatements(s: string) {
  const inNames = `queue = ANY($1::text[])`;
  return {
    queueCount: `SELECT COUNT(*)::int AS n FROM ${s}.queues`,
    // Params: names
    queueExisting: `SELECT name FROM ${s}.queues WHERE name = ANY($1::text[])`,
    // Params: names, now
    queueInsert: `INSERT INTO ${s}.queues (name, paused, created_at) SELECT unnest($1::text[]), false, $2 ON CONFLICT (name) DO NOTHING`,
    // Params: name, paused
    queueSetPaused: `UPDATE ${s}.queues SET paused = $2 WHERE name = $1`,
    // Params: after, limit
    queuePage: `SELECT name, paused, settings::text AS settings FROM ${s}.queues WHERE name > $1 ORDER BY name LIMIT $2`,
    // Params: name, settings (JSON or NULL)
    queueConfigure: `UPDATE ${s}.queues SET settings = $2::jsonb WHERE name = $1`,
    lockJobs: `LOCK TABLE ${s}.jobs IN SHARE ROW EXCLUSIVE MODE`,
    joinKeyless: `UPDATE ${s}.jobs SET concurrency_key = '' WHERE queue = $1 AND concurrency_key IS NULL AND status IN ('waiting', 'scheduled', 'pending', 'processing')`,
    queueSettings: `SELECT settings::text AS settings FROM ${s}.queues WHERE name = $1`,
    queueNames: `SELECT name FROM ${s}.queues ORDER BY name`,
    // Params: names. Each branch reads its status's partial index for the page's queues only.
    queueCounts: `
      SELECT queue, 'pending' AS status, type, COUNT(*)::int AS n FROM ${s}.jobs WHERE status = 'pending' AND ${inNames} GROUP BY queue, type
      UNION ALL
      SELECT queue, 'waiting', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'waiting' AND ${inNames} GROUP BY queue
      UNION ALL
      SELECT queue, 'scheduled', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'scheduled' AND ${inNames} GROUP BY queue
      UNION ALL
      SELECT queue, 'processing', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'processing' AND ${inNames} GROUP BY queue
      UNION ALL
      SELECT queue, 'completed', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'completed' AND ${inNames} GROUP BY queue
      UNION ALL
      SELECT queue, 'failed', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'failed' AND ${inNames} GROUP BY queue
      UNION ALL
      SELECT queue, 'cancelled', NULL, COUNT(*)::int FROM ${s}.jobs WHERE status = 'cancelled' AND ${inNames} GROUP BY queue`,
    // Params: id, info, heartbeatAt
    nodeUpsert: `
      INSERT INTO ${s}.nodes (id, info, heartbeat_at) VALUES ($1, $2::jsonb, $3)
      ON CONFLICT (id) DO UPDATE SET info = excluded.info, heartbeat_at = excluded.heartbeat_at`,
    // Params: before
    nodeForget: `DELETE FROM ${s}.nodes WHERE heartbeat_at < $1`,
    // Params: since
    nodeList: `SELECT id, info::text AS info, heartbeat_at FROM ${s}.nodes WHERE heartbeat_at >= $1 ORDER BY id`,
    nodeRemove: `DELETE FROM ${s}.nodes WHERE id = $1`,
    // Params: name, nodeId, now, expiresAt
    leaderAcquire: `
      INSERT INTO ${s}.leaders (name, node_id, expires_at) VALUES ($1, $2, $4)
      ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
       WHERE ${s}.leaders.node_id = excluded.node_id OR ${s}.leaders.expires_at <= $3`,
    leaderRelease: `DELETE FROM ${s}.leaders WHERE name = $1 AND node_id = $2`,
    // Params: nodeId, expiresAt
    subscriberUpsert: `
      INSERT INTO ${s}.subscribers (node_id, expires_at) VALUES ($1, $2)
      ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at`,
    subscriberRemove: `DELETE FROM ${s}.subscribers WHERE node_id = $1`,
    // Params: nodeId, now
    otherSubscribers: `SELECT EXISTS (SELECT 1 FROM ${s}.subscribers WHERE node_id <> $1 AND expires_at > $2) AS yes`,
  };
}

export type ClusterStatements = ReturnType<typeof clusterStatements>;
