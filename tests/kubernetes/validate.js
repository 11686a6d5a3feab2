#!/usr/bin/env node
// Validate Kubernetes manifests offline: each object against the schema of
// its apiVersion and kind, as compiled from Kubernetes' OpenAPI spec by the
// kubernetes-models package, and with no field the API does not know (what
// `kubectl apply --validate=strict` refuses; a typo such as `hostUser: false`
// would otherwise pass as valid and be dropped by the API server).
//
//   node validate.js FILE...
//
// Prints "FILE: KIND NAME: valid" or the errors, one per line; exits 1 if
// any object is invalid or of a kind it does not know.
"use strict";

const fs = require("fs");
const yaml = require("js-yaml");

// The schema's validator reads every property the schema defines (and
// every key of a map); a property it never reads is unknown to the API.
function tracked(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value, {
    get(target, key) {
      if (typeof key === "string") seen.add(path + "/" + key);
      return tracked(target[key], path + "/" + key, seen);
    },
  });
}

function unknownFields(value, path, seen, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, path + "/" + i, seen, out));
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      const p = path + "/" + key;
      if (!seen.has(p)) out.push(`${p}: unknown field "${key}"`);
      else unknownFields(value[key], p, seen, out);
    }
  }
}

function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9.\/]+$/.test(apiVersion + kind))
    return null;
  try {
    return require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch (e) {
    return null;
  }
}

// Errors of one object, [] when valid.
function validateObject(obj) {
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema for apiVersion "${obj.apiVersion}" kind "${obj.kind}"`];
  const seen = new Set();
  const errors = [];
  try {
    Model.prototype.validate.call(tracked(obj, "", seen));
  } catch (e) {
    errors.push(...String(e.message).split(/,\s*(?=data)/));
  }
  // apiVersion and kind are read by the type guard, not the schema.
  seen.add("/apiVersion").add("/kind");
  unknownFields(obj, "", seen, errors);
  return errors;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, "utf8"));
  } catch (e) {
    console.log(`${file}: ${e.message.split("\n")[0]}`);
    failed = true;
    continue;
  }
  for (const obj of docs) {
    if (obj === null || obj === undefined) continue;
    const name = `${obj.kind} ${obj.metadata && obj.metadata.name}`;
    const errors = validateObject(obj);
    if (errors.length === 0) console.log(`${file}: ${name}: valid`);
    for (const e of errors) console.log(`${file}: ${name}: ${e}`);
    failed = failed || errors.length > 0;
  }
}
process.exit(failed ? 1 : 0);
