// Builds dist/clinic-chat.js (the one script a website adds) from src/ with esbuild,
// then prints its size and gzipped size; fails if it is over the 60 KB gzip budget.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const OUT = "dist/clinic-chat.js";
const BUDGET_GZIP_BYTES = 60 * 1024;

await build({
  entryPoints: ["src/index.ts"],
  outfile: OUT,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  loader: { ".css": "text" },
  legalComments: "none",
  sourcemap: true,
  logLevel: "warning",
});

const code = readFileSync(OUT);
const gzipped = gzipSync(code, { level: 9 }).length;
const kb = (bytes) => (bytes / 1024).toFixed(1);
const verdict = gzipped <= BUDGET_GZIP_BYTES ? "PASS" : "MISS";
console.log(
  `${OUT}: ${kb(code.length)} KB, ${kb(gzipped)} KB gzipped ` +
    `(budget ${kb(BUDGET_GZIP_BYTES)} KB gzipped, socket.io-client included): ${verdict}`,
);
if (verdict !== "PASS") process.exit(1);
