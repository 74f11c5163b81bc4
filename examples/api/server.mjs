// A minimal stand-in for the st44 API (no framework): registration and the
// database health check. It runs on Node (as the production image does) and
// imports the st44-migrate library from dist/lib (built by `bun run build`).
import { randomBytes, scrypt } from "node:crypto";
import http from "node:http";
import { promisify } from "node:util";
import postgres from "postgres";
import { bundledMigrations, createHealthHandler } from "../../dist/lib/index.js";

const scryptAsync = promisify(scrypt);
const port = Number(process.env.PORT ?? 3000);
const shutdownExitCode = Number(process.env.SHUTDOWN_EXIT_CODE ?? 0);

function databaseOptions() {
  const common = { max: 5, onnotice: () => {}, fetch_types: false };
  if (process.env.DATABASE_URL) return [process.env.DATABASE_URL, common];
  return [{
    ...common,
    host: process.env.DB_HOST,
    port: Number(process.env.DB_PORT ?? 5432),
    database: process.env.DB_NAME,
    username: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
  }];
}
const sql = postgres(...databaseOptions());
const health = createHealthHandler({ sql, migrations: bundledMigrations(), timeoutMs: 2000 });

async function hashPassword(password) {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 64);
  return `scrypt$${salt.toString("base64")}$${key.toString("base64")}`;
}

async function readJson(request) {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > 64 * 1024) throw Object.assign(new Error("body too large"), { status: 413 });
  }
  try {
    return JSON.parse(body);
  } catch {
    throw Object.assign(new Error("body is not JSON"), { status: 400 });
  }
}

function send(response, status, document) {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(document));
}

async function register(request, response) {
  const input = await readJson(request);
  const email = typeof input?.email === "string" ? input.email.trim().toLowerCase() : "";
  const password = typeof input?.password === "string" ? input.password : "";
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) || email.length > 255) return send(response, 400, { error: "a valid email is required" });
  if (password.length < 8) return send(response, 400, { error: "the password needs at least 8 characters" });
  const passwordHash = await hashPassword(password);
  try {
    const created = await sql.begin(async (tx) => {
      const [user] = await tx`insert into users (email, password_hash) values (${email}, ${passwordHash}) returning id`;
      const [household] = await tx`insert into households (name) values (${`${email.split("@")[0]}'s household`}) returning id`;
      await tx`insert into household_members (household_id, user_id, role) values (${household.id}, ${user.id}, 'admin')`;
      return { id: user.id, email, household_id: household.id };
    });
    send(response, 201, created);
  } catch (error) {
    if (error.code === "23505") return send(response, 409, { error: "this email is already registered" });
    throw error;
  }
}

const server = http.createServer(async (request, response) => {
  try {
    if (request.method === "POST" && request.url === "/api/auth/register") return await register(request, response);
    if (request.method === "GET" && request.url === "/health/database") {
      const result = await health(new Request(`http://localhost${request.url}`));
      response.writeHead(result.status, Object.fromEntries(result.headers));
      return response.end(await result.text());
    }
    send(response, 404, { error: "not found" });
  } catch (error) {
    if (error.status) return send(response, error.status, { error: error.message });
    console.error(`request failed: ${error.message} (${error.code ?? "no code"})`);
    send(response, 500, { error: "internal error" });
  }
});

// Graceful stop: finish requests in flight, close the pool, exit with our own status.
process.on("SIGTERM", () => {
  console.log(`SIGTERM received (pid ${process.pid}), shutting down`);
  server.close(async () => {
    await sql.end({ timeout: 5 });
    process.exit(shutdownExitCode);
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`st44 example API listening on http://127.0.0.1:${port} (pid ${process.pid})`);
});
