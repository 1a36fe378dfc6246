"""The error every deploy step raises when it cannot go on."""


class DeployError(RuntimeError):
    """A deploy step failed; the message says why and what to do."""
