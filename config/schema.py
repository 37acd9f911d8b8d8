"""The OpenAPI schema's common answers, derived from each view instead of repeated on every one.

Every view can answer errors its decorator does not list: 401/403 where a login or token is
required, 429 where a throttle applies or a password is checked (failed logins), 400 and 413 where a body is parsed, 404 where the path
names an object, 409 and 422 where it takes an Idempotency-Key. The fuzzing pass in CI (bin/fuzz-api, Schemathesis) fails on any answer the
schema does not document, so they are added here, once, from the view's own configuration.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from config.auth import PasswordOrKeyAuthentication
from config.idempotency import HEADER_NAME

ERROR = {
    "type": "object",
    "description": '`{"detail": "…"}`, or `{"field": ["…"]}` for invalid fields',
    "additionalProperties": True,
}
COMMON = {
    "400": "Malformed body or invalid fields",
    "401": "No valid login or API token",
    "403": "Logged in, but not allowed",
    "404": "No such object",
    "413": "Body too large",
    "409": "A request with this Idempotency-Key is still running: retry shortly",
    "422": "This Idempotency-Key was used for a different request",
    "429": "Too many requests: try again later",
}


class GardenAutoSchema(AutoSchema):
    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True  # every body this API takes names what to do; none is optional
        return body

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = []
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "413"]
        elif any(parameter.get("in") == "query" for parameter in self._get_parameters()):
            codes.append("400")  # unknown filter values, a limit that is not a number
        if "{" in self.path:
            codes.append("404")
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes += ["401", "403"]
        if any(parameter.get("name") == HEADER_NAME for parameter in self._get_parameters()):
            codes += ["409", "422"]
        if self.view.get_throttles() or any(isinstance(auth, PasswordOrKeyAuthentication) for auth in self.view.get_authenticators()):
            codes.append("429")  # a throttle, or failed logins from the caller's address (config.auth)
        for code in codes:
            responses.setdefault(code, {"description": COMMON[code], "content": {"application/json": {"schema": ERROR}}})
        return responses


def error(description: str) -> OpenApiResponse:
    """An error answer a view documents itself (409, 503…): a JSON object with `detail`."""
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description)


def form_bodies(result, generator, request, public):
    """Postprocessing hook: state each multipart/form-data request body as a form can send it.

    The serializer's component describes the JSON reading of the same fields. A form has no null
    (an omitted field is the null), its file fields are uploads (binary, where the component says
    a URI) and a list of whole numbers is one text field ("10,20,64,64"); the form variant gets
    its own inline copy so the JSON one stays as it is.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for operation in (op for path in result["paths"].values() for op in path.values() if isinstance(op, dict)):
        form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
        if form and "$ref" in form["schema"]:
            component = schemas[form["schema"]["$ref"].rsplit("/", 1)[-1]]
            form["schema"] = {**component, "properties": {name: _form_field(field) for name, field in component["properties"].items()}}
    return result


def _form_field(field: dict) -> dict:
    field = {key: value for key, value in field.items() if key != "nullable"}
    if field.get("format") == "uri":
        return {**field, "format": "binary"}
    if field.get("type") == "array" and field.get("items", {}).get("type") == "integer":
        return {"type": "string", "pattern": r"^\d+(,\d+)*$", "description": field.get("description", "")}
    return field
