#!/usr/bin/env node
// Validate Kubernetes manifests offline: each object against the schema of
// its apiVersion and kind, as compiled from Kubernetes' OpenAPI spec by the
// kubernetes-models package, and with no field the API does not know (what
// `kubectl apply --validate=strict` refuses; a typo such as `hostUser: false`
// would otherwise pass as valid and be dropped by the API server).
//
//   node validate.js [--hardened] FILE...
//
// Prints "FILE: KIND NAME: valid" or the errors, one per line; exits 1 if
// any object is invalid or of a kind it does not know.  With --hardened,
// every pod template must also run with the least it needs (see hardening).
"use strict";

const fs = require("fs");
const path_ = require("path");
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

// The pod spec of an object and its path, or null.
function podSpec(obj) {
  const spec = obj.spec || {};
  if (obj.kind === "Pod") return [spec, "/spec"];
  if (obj.kind === "CronJob") return [spec.jobTemplate?.spec?.template?.spec, "/spec/jobTemplate/spec/template/spec"];
  if (spec.template && spec.template.spec) return [spec.template.spec, "/spec/template/spec"];
  return null;
}

// Node directories that hold more than one program's files: a pod that
// mounts one of them whole can rewrite what it does not own.
const SHARED_DIRS = new Set(["/", "/bin", "/boot", "/dev", "/etc", "/etc/containers", "/etc/containers/oci",
  "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/usr",
  "/usr/local", "/usr/local/bin", "/usr/share", "/var", "/var/lib", "/var/log", "/var/run"]);

// What --hardened refuses in a pod template: privilege the installer does
// not need (it writes root-owned directories as uid 0, with no capability).
function hardening(obj) {
  const found = podSpec(obj);
  if (!found || !found[0]) return [];
  const [pod, path] = found;
  const errors = [];
  for (const k of ["hostPID", "hostIPC", "hostNetwork"])
    if (pod[k]) errors.push(`${path}/${k}: must be false`);
  const podSeccomp = pod.securityContext?.seccompProfile?.type;
  for (const list of ["initContainers", "containers"]) {
    (pod[list] || []).forEach((c, i) => {
      const at = `${path}/${list}/${i} (${c.name})`;
      const sc = c.securityContext || {};
      if (sc.privileged) errors.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop || []).includes("ALL")) errors.push(`${at}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add || []).length) errors.push(`${at}: adds capabilities ${sc.capabilities.add.join(", ")}`);
      if (sc.allowPrivilegeEscalation !== false) errors.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) errors.push(`${at}: readOnlyRootFilesystem is not true`);
      const seccomp = sc.seccompProfile?.type || podSeccomp;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
        errors.push(`${at}: no seccompProfile RuntimeDefault (${seccomp || "none"})`);
    });
  }
  (pod.volumes || []).forEach((v, i) => {
    if (!v.hostPath) return;
    const p = path_.posix.normalize(v.hostPath.path).replace(/(.)\/+$/, "$1");
    if (SHARED_DIRS.has(p))
      errors.push(`${path}/volumes/${i} (${v.name}): hostPath ${p} is a whole system directory; mount only what is written`);
  });
  return errors;
}

const args = process.argv.slice(2);
const hardened = args[0] === "--hardened";
if (hardened) args.shift();
let failed = false;
for (const file of args) {
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
    if (hardened) errors.push(...hardening(obj).map((e) => "hardening: " + e));
    if (errors.length === 0) console.log(`${file}: ${name}: valid`);
    for (const e of errors) console.log(`${file}: ${name}: ${e}`);
    failed = failed || errors.length > 0;
  }
}
process.exit(failed ? 1 : 0);
