"""CDKTF constructs for the Product Reviews API, composed by stacks.reviews_stack.ReviewsStack.

Importing this package changes nothing outside it. Whoever synthesizes calls
stacks.jsii_kernel.enable_fast_synth() first, before cdktf is imported (main.py, the tests).
"""
