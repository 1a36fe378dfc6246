#!/usr/bin/env bash
# keyed_install.sh CACHE FOLDER FILE... -- COMMAND...
#
# An install kept outside the clone, by key: CACHE names the lock file's hash
# (~/.cache/product-reviews/python-<sha256 of Pipfile.lock>). The first clone on a machine runs
# COMMAND in CACHE (beside a copy of the FILEs it installs from), which writes CACHE/FOLDER;
# every clone then gets FOLDER as a copy of it whose files are hard links (seconds, no disk
# space). Package managers replace a file rather than write into it, so a clone that installs
# more into its copy never changes the cache. Text files in FOLDER or FOLDER/bin that name
# CACHE (script shebangs, activate, pipenv's .project) are rewritten for the clone, which gives
# them files of their own.
#
# Clones installing the same key at once wait for each other (flock); a failed or interrupted
# install leaves no .complete mark and is run again by the next one.
set -euo pipefail
cache=$1 folder=$2
shift 2
files=()
while [ "$1" != "--" ]; do files+=("$1"); shift; done
shift

mkdir -p "$cache"
(
  flock 9
  if [ ! -e "$cache/.complete" ]; then
    rm -rf "${cache:?}/$folder"
    cp "${files[@]}" "$cache/"
    (cd "$cache" && "$@")
    touch "$cache/.complete"
  else
    echo "already installed in $cache (key: the lock file's sha256): linking it in"
  fi
) 9> "$cache.lock"

rm -rf "./$folder"
cp -al "$cache/$folder" "./$folder"
{ find "./$folder" "./$folder/bin" -maxdepth 1 -type f 2>/dev/null || true; } | while read -r file; do
  if grep -qIF "$cache" "$file"; then
    sed -i "s#$cache#$PWD#g" "$file"
  fi
done
