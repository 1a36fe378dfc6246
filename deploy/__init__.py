"""Driving Terraform for the Product Reviews API, locally and in CI.

- `review`: the plan review (`python -m deploy.review --help`): a Markdown account of what a
  plan changes, with checkov's security findings.
"""
