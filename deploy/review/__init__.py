"""The Terraform plan review: what a plan adds, changes, replaces and destroys, in Markdown.

- `changes`: plan JSON -> the changes a reviewer needs to see, attribute by attribute;
- `indexes`: DynamoDB index changes that take an index away from readers;
- `checkov`: the security scan and the reasons `.checkov.yaml` gives for its skips;
- `render`: the review in Markdown, and an older review marked outdated;
- `make_plan`: what `make plan` runs (init, plan, show, scan, review), secrets redacted.

Command line: `python -m deploy.review plan|scan|summary|outdated --help`. Standard library
only: it runs with the project's Python, and checkov runs from its own virtualenv.
"""
