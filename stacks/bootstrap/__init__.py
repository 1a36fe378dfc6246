"""The bootstrap: everything an AWS account needs before the app's first plan, as two CDKTF
stacks (stacks.py): one per account and region, one per environment. `python -m deploy
bootstrap` synthesizes and applies them (deploy/bootstrap.py, docs/bootstrap.md).

Importing this package changes nothing outside it; only the stack modules import cdktf.
"""
