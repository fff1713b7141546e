// The Node.js service a team would weigh against Quartet, for ./quartet bench --compare-node.
// Fastify with one worker per core (cluster), pg and ioredis, serving the read endpoints the benchmark
// loads, doing the same work Quartet does for them: the session looked up and slid in Redis with one
// script (the same keys and HMAC, so Quartet's sessions work here), the same SQL on the same tables, and
// the same read cache design (set-if-newer per note, a generation hash for first pages) under its own keys.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import Fastify from 'fastify';
import pg from 'pg';
import Redis from 'ioredis';

const env = (name, fallback) => process.env[name] ?? fallback;
const port = Number(env('PORT', '8090'));

if (cluster.isPrimary) {
  for (let i = 0; i < os.availableParallelism(); i++) cluster.fork();
  cluster.on('exit', (worker, code) => console.error(`worker ${worker.process.pid} exited (${code})`));
} else {
  const sessionKey = Buffer.from(fs.readFileSync(env('SESSION_SECRET_FILE'), 'utf8').replace(/[\r\n]+$/, ''), 'utf8');
  const prefix = env('REDIS_PREFIX', 'quartet:');
  const db = new pg.Pool({
    host: env('PGHOST', '127.0.0.1'),
    port: Number(env('PGPORT', '5432')),
    database: env('PGDATABASE', 'quartet'),
    user: env('PGUSER', 'quartet_app'),
    password: fs.readFileSync(env('PGPASSWORD_FILE'), 'utf8').replace(/[\r\n]+$/, ''),
    max: Math.max(4, Math.floor(50 / os.availableParallelism())),
  });
  const [redisHost, redisPort] = env('REDIS_ENDPOINT', '127.0.0.1:6379').split(':');
  const redis = new Redis({
    host: redisHost,
    port: Number(redisPort),
    // Quartet's Redis user: keys under quartet: and the commands in deploy/redis/quartet.acl, which has
    // no INFO, so no ready check.
    username: env('REDIS_USERNAME', 'quartet'),
    password: fs.readFileSync(env('REDIS_PASSWORD_FILE'), 'utf8').replace(/[\r\n]+$/, ''),
    enableReadyCheck: false,
    keyPrefix: prefix,
    enableAutoPipelining: true,
  });
  // The same script as Quartet's SessionStore: look up, check idle and absolute expiry, slide.
  redis.defineCommand('touchSession', {
    numberOfKeys: 1,
    lua: `
      local s = redis.call('HMGET', KEYS[1], 'uid', 'email', 'role', 'created', 'seen', 'abs', 'ip', 'ua')
      if not s[1] then return nil end
      local now = tonumber(ARGV[1])
      local abs = tonumber(s[6])
      if now - tonumber(s[5]) >= tonumber(ARGV[2]) or now >= abs then
        redis.call('DEL', KEYS[1])
        return nil
      end
      if ARGV[3] == '1' then
        redis.call('HSET', KEYS[1], 'seen', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), abs - now))
      end
      return s`,
  });
  redis.defineCommand('putNote', {
    numberOfKeys: 1,
    lua: `
      local current = redis.call('HGET', KEYS[1], 'v')
      if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
      redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', ARGV[2])
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return 1`,
  });
  redis.defineCommand('putPage', {
    numberOfKeys: 1,
    lua: `
      if redis.call('HGET', KEYS[1], 'gen') ~= (ARGV[3] ~= '' and ARGV[3] or false) then return 0 end
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
      redis.call('PEXPIRE', KEYS[1], ARGV[4])
      return 1`,
  });

  const idleMs = 30 * 60 * 1000;
  const cacheMs = 10 * 60 * 1000;
  const cookiePattern = /(?:^|;\s*)(?:__Host-)?quartet_session=([^;]+)/;

  const app = Fastify({ logger: false });

  const problem = (reply, status, type, title) =>
    reply.code(status).type('application/problem+json').send({ type: `urn:quartet:problem:${type}`, title, status });

  async function authenticate(request, reply) {
    const match = cookiePattern.exec(request.headers.cookie ?? '');
    if (!match) return problem(reply, 401, 'unauthenticated', 'Authentication required');
    const id = crypto.createHmac('sha256', sessionKey).update(match[1]).digest('hex');
    const session = await redis.touchSession(`session:${id}`, String(Date.now()), String(idleMs), '1');
    if (!session) return problem(reply, 401, 'unauthenticated', 'Authentication required');
    request.userId = session[0];
  }

  const toNote = (r) => ({
    id: r.id, title: r.title, body: r.body, tags: r.tags, version: r.version,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  });
  const toSummary = (r) => ({
    id: r.id, title: r.title, excerpt: r.excerpt, tags: r.tags, version: r.version,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  });

  app.get('/health/live', async () => ({ status: 'live' }));

  app.get('/api/notes/:id', { preHandler: authenticate }, async (request, reply) => {
    const { id } = request.params;
    if (!/^[0-9a-f-]{36}$/i.test(id)) return problem(reply, 404, 'not-found', 'Not found');
    const cached = await redis.hget(`node:notes:note:${id.replaceAll('-', '')}`, 'n');
    if (cached) {
      const entry = JSON.parse(cached);
      if (entry.ownerId === request.userId) {
        reply.header('ETag', `"${entry.note.version}"`);
        return entry.note;
      }
    }
    const { rows } = await db.query({
      name: 'get-note',
      text: 'SELECT id, owner_id, title, body, tags, version, created_at, updated_at FROM notes WHERE id = $1 AND owner_id = $2',
      values: [id, request.userId],
    });
    if (rows.length === 0) return problem(reply, 404, 'not-found', 'Not found');
    const note = toNote(rows[0]);
    await redis.putNote(`node:notes:note:${id.replaceAll('-', '')}`, String(note.version),
      JSON.stringify({ ownerId: request.userId, note }), String(cacheMs));
    reply.header('ETag', `"${note.version}"`);
    return note;
  });

  app.get('/api/notes', { preHandler: authenticate }, async (request, reply) => {
    const limit = Number(request.query.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return problem(reply, 400, 'validation', 'Invalid limit');
    const q = (request.query.q ?? '').trim();
    const pagesKey = `node:notes:pages:${request.userId.replaceAll('-', '')}`;
    const field = `${limit}|`;
    let generation = null;
    if (!q) {
      const [page, gen] = await redis.hmget(pagesKey, field, 'gen');
      if (page) return JSON.parse(page);
      generation = gen;
    }
    const { rows } = q
      ? await db.query({
        name: 'search-notes',
        text: `SELECT id, title, left(body, 200) AS excerpt, tags, version, created_at, updated_at, ts_rank(search, query) AS rank
               FROM notes, websearch_to_tsquery('english', $2) AS query
               WHERE owner_id = $1 AND search @@ query
               ORDER BY rank DESC, updated_at DESC, id DESC LIMIT $3`,
        values: [request.userId, q, limit + 1],
      })
      : await db.query({
        name: 'list-notes',
        text: `SELECT id, title, left(body, 200) AS excerpt, tags, version, created_at, updated_at
               FROM notes WHERE owner_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2`,
        values: [request.userId, limit + 1],
      });
    const items = rows.slice(0, limit).map(toSummary);
    const page = { items, nextCursor: rows.length > limit ? Buffer.from(`${rows[limit - 1].id}`).toString('base64url') : null };
    if (!q) await redis.putPage(pagesKey, field, JSON.stringify(page), generation ?? '', String(cacheMs));
    return page;
  });

  await app.listen({ host: '127.0.0.1', port });
}
