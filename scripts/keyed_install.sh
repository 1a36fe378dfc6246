#!/usr/bin/env bash
# keyed_install.sh CACHE TARGET [FILE...] -- COMMAND...
#
# An install kept outside the clone, by key: CACHE names the lock file's hash
# (~/.cache/product-reviews/python-<sha256 of Pipfile.lock>). The first clone on a machine runs
# COMMAND in CACHE (beside a copy of the FILEs it installs from), which writes the folder named
# like TARGET there (CACHE/.venv for TARGET .venv); every clone then gets TARGET as a copy of it
# whose files are hard links (seconds, no disk space). Package managers replace a file rather
# than write into it, so a clone that installs more into its copy never changes the cache.
# Text files in TARGET or TARGET/bin that name CACHE (script shebangs, activate, pipenv's
# .project) are rewritten to name TARGET's folder instead, which gives them files of their own.
#
# Clones installing the same key at once wait for each other (flock); a failed or interrupted
# install leaves no .complete mark and is run again by the next one.
set -euo pipefail
cache=$1 target=$2
shift 2
files=()
while [ "$1" != "--" ]; do files+=("$1"); shift; done
shift
name=$(basename "$target")
mkdir -p "$cache" "$(dirname "$target")"
home=$(cd "$(dirname "$target")" && pwd)  # where TARGET lives: what CACHE becomes in its files

(
  flock 9
  if [ ! -e "$cache/.complete" ]; then
    rm -rf "${cache:?}/$name"
    [ ${#files[@]} -eq 0 ] || cp "${files[@]}" "$cache/"
    (cd "$cache" && "$@")
    touch "$cache/.complete"
  else
    echo "already installed in $cache (key: the lock file's sha256): linking it in"
  fi
) 9> "$cache.lock"

rm -rf "$target"
cp -al "$cache/$name" "$target"
{ find "$target" "$target/bin" -maxdepth 1 -type f 2>/dev/null || true; } | while read -r file; do
  if grep -qIF "$cache" "$file"; then
    sed -i "s#$cache#$home#g" "$file"
  fi
done
