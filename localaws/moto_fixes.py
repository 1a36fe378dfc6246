"""Fixes for operations moto 5.2.5 lacks but the Terraform AWS provider calls.

`apply()` runs inside the emulator process, before moto serves a request.
"""

import json

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

# ARN -> {key: value}. Scalable-target ARNs embed a random id, so one flat store is enough.
_APPAUTOSCALING_TAGS: dict[str, dict[str, str]] = {}


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    return json.dumps({"Tags": _APPAUTOSCALING_TAGS.get(arn, {})})


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    _APPAUTOSCALING_TAGS.setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    tags = _APPAUTOSCALING_TAGS.get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


def _patch_register_scalable_target() -> None:
    """RegisterScalableTarget accepts Tags, but moto drops them: keep them for ListTags."""
    original = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
        response = original(self)
        if self._get_param("Tags"):
            arn = json.loads(response)["ScalableTargetARN"]
            _APPAUTOSCALING_TAGS.setdefault(arn, {}).update(self._get_param("Tags"))
        return response

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target


def apply() -> list[str]:
    """Patch moto in this process; returns a short description of each fix."""
    # Missing in moto: aws_appautoscaling_target reads tags after create and the
    # provider retries the HTTP 500 for 20+ minutes. moto dispatches on the
    # X-Amz-Target operation name, so adding the snake_case methods is enough.
    ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource
    ApplicationAutoScalingResponse.tag_resource = _tag_resource
    ApplicationAutoScalingResponse.untag_resource = _untag_resource
    _patch_register_scalable_target()
    return ["application-autoscaling ListTagsForResource/TagResource/UntagResource"]
