#!/bin/sh
# The node that runs the jsii kernel for our synths (JSII_NODE, set by stacks/jsii_kernel.py).
#
# jsii's Python client starts its kernel as
#   $JSII_NODE --max-old-space-size=4069 <runtime>/bin/jsii-runtime.js
# and that script only starts a second node process, <runtime>/lib/program.js, and relays
# messages and console output between it and the client: ~80 ms and ~40 MB per synth. This
# runs program.js itself, with the flag the relay gives it (--preserve-symlinks: packages
# linked from jsii's package cache must resolve one another where they are linked), and does
# the relay's job: program.js writes its responses to fd 3, here the client's stdout (3>&1);
# whatever else would write to stdout goes to stderr (1>&2), so nothing can mix into the
# responses; jsii_kernel_io.js does the rest. --no-opt --no-maglev: a synth's kernel lives
# under a second, and V8's optimizing compilers only compete with it for the cores (~40 ms
# less per synth on Node 20; a test session's kernel is faster without them too). --no-opt
# turns off TurboFan only. Maglev, V8's second optimizing compiler, is off by default in the
# project's Node 22.20 but on in Node 24 (there, turning it off too measured ~3 MB less, CPU
# time within the noise): --no-maglev keeps the kernel the same on either. `node`
# is the project's (stacks/jsii_kernel.py puts it first on PATH). A call of any other shape
# runs unchanged.
here=${0%/*}
if [ $# -eq 2 ]; then
  case "$2" in
    */bin/jsii-runtime.js)
      program="${2%/bin/jsii-runtime.js}/lib/program.js"
      if [ -f "$program" ]; then
        exec node --preserve-symlinks --no-opt --no-maglev --require "$here/jsii_kernel_io.js" "$1" "$program" 3>&1 1>&2
      fi
      ;;
  esac
fi
exec node "$@"
