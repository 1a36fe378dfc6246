// Preloaded into the jsii node process (NODE_OPTIONS=--require, set by stacks/aws.py).
//
// The AWS provider bindings' lib/index.js (@cdktf/provider-aws or @cdktn/provider-aws) is
// ~2,400 lines of
//   exports.dynamodbTable = require("./dynamodb-table");                        (CDKTF)
//   exports.dynamodbTable = __importStar(require("./dynamodb-table/index"));    (CDK Terrain)
// so the jsii kernel's require() of the package loads every resource module (~2.5 s, ~450 MB)
// although a stack uses about twenty. This hook serves that one file as lazy getters with the
// same names: a module loads the first time the kernel looks a type up in it. Any other shape
// of the file (a future binding) is loaded unchanged.
"use strict";
const fs = require("fs");
const Module = require("module");

const PROVIDER_INDEX = /[\\/]@[\w-]+[\\/]provider-aws[\\/](.+[\\/])?lib[\\/]index\.js$/;
const EXPORT = /^exports\.(\w+) = (?:require\("(\.\/[\w/-]+)"\)|(__importStar)\(require\("(\.\/[\w/-]+)"\)\));$/;
const ES_MODULE_MARKER = 'Object.defineProperty(exports, "__esModule", { value: true });';
// The only other lines the generated index has after that marker: the
// `exports.a = exports.b = ... = void 0;` preamble, and comments.
const BOILERPLATE = /^((exports\.\w+ = )+void 0;|\/\/.*|)$/;
// Before the marker: "use strict", comments and, in CDK Terrain's, TypeScript's helper
// functions (__createBinding, __setModuleDefault, __importStar). None of it may load a
// module or export anything.
const LOADS_OR_EXPORTS = /\brequire\s*\(|\bexports\b|\bmodule\b/;

function lazyExports(source) {
  const marker = source.indexOf(ES_MODULE_MARKER);
  if (marker < 0 || LOADS_OR_EXPORTS.test(source.slice(0, marker))) return null;
  const exported = [];
  for (const line of source.slice(marker + ES_MODULE_MARKER.length).split("\n")) {
    const match = EXPORT.exec(line);
    if (match) exported.push({ name: match[1], target: match[2] || match[4], importStar: Boolean(match[3]) });
    else if (!BOILERPLATE.test(line)) return null;
  }
  return exported.length > 0 ? exported : null;
}

// What TypeScript's __importStar returns: the module itself when it is an ES module (every
// generated resource module is), else a namespace object of its own properties plus `default`.
function importStar(module) {
  if (module && module.__esModule) return module;
  const namespace = { default: module };
  for (const key of Object.getOwnPropertyNames(module ?? {})) {
    if (key !== "default") Object.defineProperty(namespace, key, { enumerable: true, get: () => module[key] });
  }
  return namespace;
}

const loadJavaScript = Module._extensions[".js"];
Module._extensions[".js"] = function (module, filename) {
  const exported = PROVIDER_INDEX.test(filename) && lazyExports(fs.readFileSync(filename, "utf8"));
  if (!exported) return loadJavaScript(module, filename);
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const { name, target, importStar: wrap } of exported) {
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        const required = module.require(target);
        const value = wrap ? importStar(required) : required;
        Object.defineProperty(module.exports, name, { value, enumerable: true });
        return value;
      },
    });
  }
};
