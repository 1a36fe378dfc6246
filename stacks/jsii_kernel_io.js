// Preloaded into jsii's kernel program when stacks/jsii_kernel_node.sh runs it without jsii's
// relay process; does in-process the part of the relay's job (jsii's bin/jsii-runtime.js) that
// the shell's redirections cannot:
// - program.js reads its requests from file descriptor 3 too, which the relay connects to the
//   client's stdin: here reads of fd 3 come from stdin (fd 0). Its writes to fd 3 already reach
//   the client's stdout (jsii_kernel_node.sh: 3>&1).
// - What the kernel prints (console.log, console.error, warnings) is wrapped as the relay wraps
//   it, in one {"stdout"|"stderr": <base64>} line on stderr, which jsii's client unwraps and
//   prints. Anything written to fd 1 or 2 some other way (a child process, a V8 trace flag)
//   reaches the client's stderr as it is, and the client prints it line by line.
"use strict";
const fs = require("fs");
const { Writable } = require("stream");
const { isMainThread } = require("worker_threads");

const KERNEL_CHANNEL = 3;
const REQUESTS = 0;
const CONSOLE = 2;

function wrappedConsole(streamName) {
  return new Writable({
    write(chunk, _encoding, done) {
      fs.writeSync(CONSOLE, `${JSON.stringify({ [streamName]: chunk.toString("base64") })}\n`);
      done();
    },
  });
}

// jsii's runtime-index worker thread gets the same preloads; it never talks to the client.
if (isMainThread) {
  const readSync = fs.readSync;
  fs.readSync = function (fd, ...rest) {
    return readSync.call(this, fd === KERNEL_CHANNEL ? REQUESTS : fd, ...rest);
  };
  Object.defineProperty(process, "stdout", { value: wrappedConsole("stdout"), configurable: true });
  Object.defineProperty(process, "stderr", { value: wrappedConsole("stderr"), configurable: true });
}
