// Preloaded into the jsii node process (NODE_OPTIONS=--require, set by stacks/__init__.py).
//
// The AWS provider package's lib/index.js is 2,135 lines of
//   exports.dynamodbTable = require("./dynamodb-table");
// so the jsii kernel's require() of the package loads every resource module (~2.5 s, ~450 MB)
// although a stack uses about twenty. This hook serves that one file as lazy getters with the
// same names: a module loads the first time the kernel looks a type up in it. Any other shape
// of the file (a future binding) is loaded unchanged.
"use strict";
const fs = require("fs");
const Module = require("module");

const PROVIDER_INDEX = /[\\/]@cdktf[\\/]provider-aws[\\/](.+[\\/])?lib[\\/]index\.js$/;
const EXPORT = /^exports\.(\w+) = require\("(\.\/[\w-]+)"\);$/;
// The only other lines the generated index has: "use strict", the __esModule marker, the
// `exports.a = exports.b = ... = void 0;` preamble, and comments.
const BOILERPLATE = /^("use strict";|Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);|(exports\.\w+ = )+void 0;|\/\/.*|\/?\*.*|\s*\*.*|)$/;

function lazyExports(source) {
  const exported = [];
  for (const line of source.split("\n")) {
    const match = EXPORT.exec(line);
    if (match) exported.push([match[1], match[2]]);
    else if (!BOILERPLATE.test(line)) return null;
  }
  return exported.length > 0 ? exported : null;
}

const loadJavaScript = Module._extensions[".js"];
Module._extensions[".js"] = function (module, filename) {
  const exported = PROVIDER_INDEX.test(filename) && lazyExports(fs.readFileSync(filename, "utf8"));
  if (!exported) return loadJavaScript(module, filename);
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, target] of exported) {
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = module.require(target);
        Object.defineProperty(module.exports, name, { value, enumerable: true });
        return value;
      },
    });
  }
};
