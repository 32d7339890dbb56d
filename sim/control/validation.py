"""Render field validation errors exactly as apimachinery does, for the 422 ``Invalid`` Status.

How this works: upstream validation returns a ``field.ErrorList``; each error
prints as ``<field>: <Type>[: <bad value>][: <detail>]`` where the bad value is
Go-formatted (``%q`` for strings, ``%v`` for numbers, ``%#v`` for other values,
so a ``[]byte`` prints as ``[]byte{0x6e, 0x6f}``). ``errors.NewInvalid`` joins
the de-duplicated messages (one: bare; several: ``[a, b]``) behind
``<Kind>.<group> "<name>" is invalid: `` and lists every error as a cause
(``status.invalid``).
Upstream: staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go,
staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go (NewInvalid),
staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go (name formats).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from sim.protocol.errors import go_quote
from sim.protocol.names import dns1123_label_errors, dns1123_subdomain_errors

__all__ = [
    "FieldError", "config_key_errors", "dns1123_label_errors", "dns1123_subdomain_errors", "duplicate", "forbidden",
    "go_bytes", "go_quote", "invalid", "not_supported", "required", "too_long",
]

# field/errors.go: ErrorType values and their String() texts.
_TYPE_TEXT = {
    "FieldValueRequired": "Required value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
}
# Types whose body never shows the bad value (ErrorBody's first cases).
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong"}


def go_bytes(data: bytes) -> str:
    """Format bytes as Go's ``%#v`` of a ``[]byte`` (``[]byte{0x2d, 0xa}``)."""
    return "[]byte{" + ", ".join(f"0x{b:x}" for b in data) + "}"


@dataclass(frozen=True, slots=True)
class FieldError:
    """Describe one validation failure: its cause type, field path, rendered bad value and detail."""

    type: str
    field: str
    value: str | None = None
    detail: str = ""

    def body(self) -> str:
        """Return the text after ``<field>: `` (Go's ``ErrorBody``)."""
        text = _TYPE_TEXT[self.type]
        if self.type not in _VALUELESS and self.value is not None:
            text += f": {self.value}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def required(field: str, detail: str = "") -> FieldError:
    """Return a ``Required value`` error."""
    return FieldError("FieldValueRequired", field, None, detail)


def invalid(field: str, value: str, detail: str) -> FieldError:
    """Return an ``Invalid value`` error; ``value`` is already Go-formatted (use ``go_quote`` for strings)."""
    return FieldError("FieldValueInvalid", field, value, detail)


def not_supported(field: str, value: str, valid: Sequence[str]) -> FieldError:
    """Return an ``Unsupported value`` error listing the supported values, each quoted."""
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return FieldError("FieldValueNotSupported", field, value, detail)


def duplicate(field: str, value: str) -> FieldError:
    """Return a ``Duplicate value`` error."""
    return FieldError("FieldValueDuplicate", field, value, "")


def forbidden(field: str, detail: str) -> FieldError:
    """Return a ``Forbidden`` error."""
    return FieldError("FieldValueForbidden", field, None, detail)


def too_long(field: str, limit: int) -> FieldError:
    """Return a ``Too long`` error (current wording: ``may not be more than N bytes``)."""
    return FieldError("FieldValueTooLong", field, None, f"may not be more than {limit} bytes")


# --- name formats: staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go ---

_CONFIG_KEY_RE = re.compile(r"\A[-._a-zA-Z0-9]+\Z")

_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def config_key_errors(value: str) -> list[str]:
    """Return IsConfigMapKey's messages (empty when valid)."""
    out = []
    if len(value) > 253:
        out.append("must be no more than 253 characters")
    if not _CONFIG_KEY_RE.match(value):
        out.append(_CONFIG_KEY_MSG)
    if value == ".":
        out.append("must not be '.'")
    elif value == "..":
        out.append("must not be '..'")
    elif value.startswith(".."):
        out.append("must not start with '..'")
    return out
