// `import text from "x.sql" with { type: "text" }` (Bun and Deno) yields the file's text.
declare module "*.sql" {
  const text: string;
  export default text;
}
