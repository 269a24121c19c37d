// The kernel bundle: every kernels/*.wgsl file is in it, with its #include lines expanded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { KERNELS } from "../../src/gpu/kernels.generated.js";

test("every kernel is bundled and no #include line is left unexpanded", () => {
  const dir = join(import.meta.dirname, "../../kernels");
  const files = readdirSync(dir).filter((f) => f.endsWith(".wgsl")).map((f) => f.replace(/\.wgsl$/, ""));
  assert.deepEqual(Object.keys(KERNELS).sort(), files.sort());
  for (const [name, code] of Object.entries(KERNELS)) assert.doesNotMatch(code, /#include/, `${name} still has an #include`);
  assert.match(KERNELS["softmax"]!, /fn groupMaxSum/, "softmax got the shared row reduction");
  assert.match(KERNELS["cross_entropy"]!, /fn groupMaxSum/, "cross_entropy got the shared row reduction");
  for (const k of ["attention", "attention_bwd_dq", "attention_bwd_dkdv"]) assert.match(KERNELS[k]!, /struct Params \{/, `${k} got its Params`);
});
