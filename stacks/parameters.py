"""ReviewsParameters: SSM parameters that let other systems find this deployment."""

from constructs import Construct

from .aws import ssm_parameter


class ReviewsParameters(Construct):
    def __init__(self, scope: Construct, id: str, prefix: str, values: dict[str, tuple[str, str]]):
        """`values` maps a name under `prefix` to (value, description)."""
        super().__init__(scope, id)
        for name, (value, description) in values.items():
            ssm_parameter.SsmParameter(
                self,
                name.replace("/", "_").replace("-", "_"),
                name=f"{prefix}{name}",
                type="String",
                value=value,
                description=description,
            )
