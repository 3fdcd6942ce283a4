// Regenerate src/board/freehand-options.json from the Python constant (the one source of truth).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = process.env.PYTHON ?? `${root}.venv/bin/python`;
const code =
  "import json; from classroom.protocol.board import FREEHAND_OPTIONS, HIGHLIGHTER_OPACITY;" +
  "print(json.dumps({'options': FREEHAND_OPTIONS, 'highlighter_opacity': HIGHLIGHTER_OPACITY}, indent=2, sort_keys=True))";
const out = execFileSync(python, ["-c", code], { cwd: root, encoding: "utf8" });
writeFileSync(fileURLToPath(new URL("../src/board/freehand-options.json", import.meta.url)), out);
console.log("wrote src/board/freehand-options.json");
