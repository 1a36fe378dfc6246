"""The one exception that becomes a 4xx/5xx response."""


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def bad_request(message: str, details: list[dict] | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, details)
