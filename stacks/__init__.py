"""CDKTF constructs for the Product Reviews API, composed by stacks.reviews_stack.ReviewsStack."""
