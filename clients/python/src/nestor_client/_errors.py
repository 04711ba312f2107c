from __future__ import annotations

import json
from typing import Optional


class NestorError(Exception):
    """An error answer from the server, parsed from its OpenAI-shaped body
    `{"error": {"message", "type", "param", "code"}}`.

    `status` is the HTTP status; `type` is `invalid_request_error`, `authentication_error` (401)
    or `server_error` (5xx); `param` names the request field at fault, when there is one; `code`
    is the status as a string, as the server sends it."""

    def __init__(self, status: int, type: str, message: str, param: Optional[str] = None,
                 code: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code if code is not None else str(status)

    def __str__(self) -> str:
        where = f" (param: {self.param})" if self.param else ""
        return f"{self.status} {self.type}: {self.message}{where}"

    def __repr__(self) -> str:
        return (f"NestorError(status={self.status!r}, type={self.type!r}, message={self.message!r}, "
                f"param={self.param!r}, code={self.code!r})")

    @classmethod
    def from_response(cls, status: int, body: bytes) -> "NestorError":
        try:
            e = json.loads(body)["error"]
            if not isinstance(e, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            text = body.decode("utf-8", "replace").strip()[:500]
            kind = "server_error" if status >= 500 else "authentication_error" if status == 401 else "invalid_request_error"
            return cls(status, kind, text or f"HTTP {status}")
        code = e.get("code")
        return cls(status, str(e.get("type") or "invalid_request_error"), str(e.get("message") or ""),
                   e.get("param"), None if code is None else str(code))


class NestorConnectionError(NestorError):
    """The server could not be reached, or did not answer in time (`status` 0)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "connection_error", message)
