#!/usr/bin/env bash
# Writes the project's own Terraform CLI configuration to $1.
# Machines that ship the AWS provider in a filesystem mirror (a folder named tf-plugins,
# or TF_PLUGIN_MIRROR) install from it offline; everywhere else Terraform installs from
# the registry as usual.
set -euo pipefail
out=$1
mirror=${TF_PLUGIN_MIRROR:-$(find / -maxdepth 3 -type d -name tf-plugins 2>/dev/null | head -n 1 || true)}
if [ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io" ]; then
  cat > "$out" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
  echo "terraform: providers from the filesystem mirror $mirror"
else
  printf 'provider_installation {\n  direct {}\n}\n' > "$out"
  echo "terraform: providers from the registry"
fi
