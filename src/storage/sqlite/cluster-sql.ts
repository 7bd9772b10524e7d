/**
 * SQL for the SQLite backend's queues, nodes, leaderships and event feed.
 * Parameters are always bound (named, `@name`).
 */
import { boundLimit } from './bound-limit.js';

export const QUEUE_COUNT = `SELECT COUNT(*) AS n FROM queues`;
// Params: name, now
export const QUEUE_INSERT = `INSERT OR IGNORE INTO queues (name, paused, created_at) VALUES (@name, 0, @now)`;
export const QUEUE_EXISTS = `SELECT 1 AS x FROM queues WHERE name = @name`;
// Params: name, paused (0 | 1)
export const QUEUE_SET_PAUSED = `UPDATE queues SET paused = @paused WHERE name = @name`;
// Params: after, limit
export const QUEUE_PAGE = `SELECT name, paused, settings FROM queues WHERE name > @after ORDER BY name LIMIT ${boundLimit('@limit')}`;
// Params: name, settings (JSON or NULL)
export const QUEUE_CONFIGURE = `UPDATE queues SET settings = @settings WHERE name = @name`;
export const QUEUE_SETTINGS = `SELECT settings FROM queues WHERE name = @name`;
export const QUEUE_NAMES = `SELECT name FROM queues ORDER BY name`;

const IN_NAMES = `queue IN (SELECT value FROM json_each(@names))`;
// Params: names (JSON array). Each branch reads its status's partial index for the page's queues only.
export const QUEUE_COUNTS = `
  SELECT queue, 'pending' AS status, type, COUNT(*) AS n FROM jobs WHERE status = 'pending' AND ${IN_NAMES} GROUP BY queue, type
  UNION ALL
  SELECT queue, 'waiting', NULL, COUNT(*) FROM jobs WHERE status = 'waiting' AND ${IN_NAMES} GROUP BY queue
  UNION ALL
  SELECT queue, 'scheduled', NULL, COUNT(*) FROM jobs WHERE status = 'scheduled' AND ${IN_NAMES} GROUP BY queue
  UNION ALL
  SELECT queue, 'processing', NULL, COUNT(*) FROM jobs INDEXED BY jobs_leases WHERE status = 'processing' AND ${IN_NAMES} GROUP BY queue
  UNION ALL
  SELECT queue, 'completed', NULL, COUNT(*) FROM jobs WHERE status = 'completed' AND ${IN_NAMES} GROUP BY queue
  UNION ALL
  SELECT queue, 'failed', NULL, COUNT(*) FROM jobs WHERE status = 'failed' AND ${IN_NAMES} GROUP BY queue
  UNION ALL
  SELECT queue, 'cancelled', NULL, COUNT(*) FROM jobs WHERE status = 'cancelled' AND ${IN_NAMES} GROUP BY queue`;

// Params: id, info (JSON), heartbeatAt
export const NODE_UPSERT = `
  INSERT INTO nodes (id, info, heartbeat_at) VALUES (@id, @info, @heartbeatAt)
  ON CONFLICT (id) DO UPDATE SET info = excluded.info, heartbeat_at = excluded.heartbeat_at`;
// Params: since
export const NODE_LIST = `SELECT id, info, heartbeat_at FROM nodes WHERE heartbeat_at >= @since ORDER BY id`;
// Params: id
export const NODE_REMOVE = `DELETE FROM nodes WHERE id = @id`;
// Params: before. Nodes gone for good (no heartbeat for a long time).
export const NODE_FORGET = `DELETE FROM nodes WHERE heartbeat_at < @before`;

// Params: name, nodeId, now, expiresAt. Takes the lease if free or expired, renews it if ours.
export const LEADER_ACQUIRE = `
  INSERT INTO leaders (name, node_id, expires_at) VALUES (@name, @nodeId, @expiresAt)
  ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
   WHERE leaders.node_id = excluded.node_id OR leaders.expires_at <= @now`;
// Params: name, nodeId
export const LEADER_RELEASE = `DELETE FROM leaders WHERE name = @name AND node_id = @nodeId`;

// Params: nodeId, at, body (JSON array)
export const EVENT_INSERT = `INSERT INTO events (node_id, at, body) VALUES (@nodeId, @at, @body)`;
// Params: after, nodeId
export const EVENTS_AFTER = `SELECT seq, body FROM events WHERE seq > @after AND node_id <> @nodeId ORDER BY seq LIMIT 1000`;
export const EVENTS_LAST = `SELECT COALESCE(MAX(seq), 0) AS seq FROM events`;
// Params: before
export const EVENTS_TRIM = `DELETE FROM events WHERE at < @before`;
// Params: nodeId, expiresAt
export const SUBSCRIBER_UPSERT = `
  INSERT INTO subscribers (node_id, expires_at) VALUES (@nodeId, @expiresAt)
  ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at`;
export const SUBSCRIBER_REMOVE = `DELETE FROM subscribers WHERE node_id = @nodeId`;
// Params: nodeId, now
export const OTHER_SUBSCRIBERS = `SELECT 1 AS x FROM subscribers WHERE node_id <> @nodeId AND expires_at > @now LIMIT 1`;

// Params: port, expiresAt
export const WAKE_LISTENER_UPSERT = `
  INSERT INTO wake_listeners (port, expires_at) VALUES (@port, @expiresAt)
  ON CONFLICT (port) DO UPDATE SET expires_at = excluded.expires_at`;
// Params: port
export const WAKE_LISTENER_REMOVE = `DELETE FROM wake_listeners WHERE port = @port`;
// Params: port (ours, or 0), now
export const WAKE_LISTENERS = `SELECT port FROM wake_listeners WHERE port <> @port AND expires_at > @now`;
