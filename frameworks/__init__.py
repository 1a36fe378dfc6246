"""The CDK frameworks the project runs on, side by side (docs/framework.md): CDK for Terraform
(the default, locked in the top-level Pipfile.lock and package-lock.json) and CDK Terrain
(locked in frameworks/cdktn/). stacks/framework.py is where the stack meets whichever is
installed; frameworks.parity proves the two synthesize the same infrastructure.
"""
