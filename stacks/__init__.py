"""CDKTF constructs for the Product Reviews API, composed by stacks.reviews_stack.ReviewsStack."""

# First, before anything imports cdktf: sets up lazy provider loading for the jsii kernel.
from . import aws  # noqa: F401
