// Preloaded into jsii's kernel program when stacks/jsii_kernel_node.sh runs it without jsii's
// relay process; does in-process what the relay (jsii's bin/jsii-runtime.js) does:
// - program.js reads requests from and writes responses to file descriptor 3, which the relay
//   connects to the client's stdin and stdout. Here fd 3 reads come from stdin (0) and fd 3
//   writes go to stdout (1). Node's own fd 3 is libuv's event loop, which is never read with
//   fs.readSync, so nothing else is redirected.
// - Whatever the kernel prints (console.log, warnings) is wrapped, as the relay does, in one
//   {"stdout"|"stderr": <base64>} line on stderr, which jsii's client unwraps and prints: it can
//   never mix into the responses on stdout. Child processes that inherit stderr write to it
//   unwrapped, and the client prints their lines as they come.
"use strict";
const fs = require("fs");
const { Writable } = require("stream");
const { isMainThread } = require("worker_threads");

const KERNEL_CHANNEL = 3;
const REQUESTS = 0;
const RESPONSES = 1;
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
  const { readSync, writeSync } = fs;
  fs.readSync = function (fd, ...rest) {
    return readSync.call(this, fd === KERNEL_CHANNEL ? REQUESTS : fd, ...rest);
  };
  fs.writeSync = function (fd, ...rest) {
    return writeSync.call(this, fd === KERNEL_CHANNEL ? RESPONSES : fd, ...rest);
  };
  Object.defineProperty(process, "stdout", { value: wrappedConsole("stdout"), configurable: true });
  Object.defineProperty(process, "stderr", { value: wrappedConsole("stderr"), configurable: true });
}
