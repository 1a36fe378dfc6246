"""Lifecycle rules Terraform cannot infer on its own."""

from .framework import TerraformResource, TerraformResourceLifecycle


def replaced_with(*parents: TerraformResource) -> TerraformResourceLifecycle:
    """For a resource AWS deletes together with its parent (a role's policy attachment, a
    function's permission, a stage's settings): replace it whenever the parent is replaced.

    A replaced parent keeps its name, so nothing in the child's arguments changes and
    Terraform would keep a child that no longer exists. A parent's id is unknown while it is
    being replaced, which is what triggers this; an in-place update of the parent does not.
    """
    # Bare references: lifecycle arguments take no "${...}" interpolation.
    return TerraformResourceLifecycle(
        replace_triggered_by=[f"{parent.terraform_resource_type}.{parent.friendly_unique_id}.id" for parent in parents]
    )
