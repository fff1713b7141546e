// Validates rendered Kubernetes manifests offline: every object of every YAML file named on the
// command line against the JSON schema of its apiVersion and kind, from the Kubernetes OpenAPI
// document as the kubernetes-models package carries it (no cluster, no network).
//
//   node validate.mjs rendered.yaml [...]
//
// Prints one line per object found invalid and one summary line per file; exits 1 when any object
// is invalid, has no schema (an unknown apiVersion or kind), or a file is not YAML.
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE.yaml [...]");
  process.exit(2);
}

// "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1 (the core group).
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) {
    return null;
  }
  let group;
  try {
    group = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  return Object.hasOwn(group, kind) ? group[kind] : null;
}

let failed = 0;
for (const file of files) {
  const documents = parseAllDocuments(await readFile(file, "utf8"));
  let count = 0;
  let invalid = 0;
  for (const document of documents) {
    if (document.errors.length > 0) {
      console.error(`${file}: not YAML: ${document.errors[0].message}`);
      invalid++;
      continue;
    }
    const object = document.toJS();
    if (object === null) {
      continue;
    }
    count++;
    const name = `${object.kind ?? "(no kind)"}/${object.metadata?.name ?? "(no name)"}`;
    const Model = await modelFor(object.apiVersion, object.kind);
    if (Model === null) {
      console.error(`${file}: ${name}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      invalid++;
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      console.error(`${file}: ${name} (${object.apiVersion}): ${error.message}`);
      invalid++;
    }
  }
  console.log(`${file}: ${count - invalid} of ${count} objects valid`);
  failed += invalid;
}
process.exit(failed === 0 ? 0 : 1);
