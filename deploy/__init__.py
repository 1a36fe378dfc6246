"""Driving Terraform for the Product Reviews API, locally and in CI.

- `ci`: plan, apply exactly the reviewed plan, drift check (`python -m deploy plan|apply|drift`,
  docs/ci.md);
- `review`: the plan review (`python -m deploy.review --help`): a Markdown account of what a
  plan changes, attribute by attribute, with checkov's security findings;
- `secrets`: the secret strings in Terraform state and plans, redacted from what we print
  or write;
- `private_files`: directories and files only their owner may read (build/, .local/);
- `make_up`: `make up` and `make down` on the local target (`local_target`), built from
  `emulator_lifecycle`, `locks`, `skip_cache`, `smoke` and `progress`.
"""
