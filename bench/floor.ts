/**
 * The Bun floor of the benchmark: the least a Bun program can do on a
 * container start (connect with postgres.js, one query, disconnect). The
 * bench compiles it with `bun build --compile --bytecode --format=esm
 * --minify`, as st44-migrate is compiled, so the gap between the two is
 * st44-migrate's own work.
 */
import postgres from "postgres";

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write("floor: DATABASE_URL is not set\n");
  process.exit(2);
}
// Simple protocol (unsafe without parameters), no type fetch: one round trip after the login.
const sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => {} });
await sql.unsafe("select 1");
await sql.end();
