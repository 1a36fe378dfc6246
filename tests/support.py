"""Helpers for tests that run the project's own commands in a copy of it.

Imported as `tests.support`, never from conftest (pytest loads conftest.py itself, under a
name of its own: importing it again would load it twice).
"""

from deploy.project_copy import DEPLOYABLE_FILES, PROJECT_ROOT, copy_project

__all__ = ["DEPLOYABLE_FILES", "PROJECT_ROOT", "copy_project"]
