"""The model server's OpenAPI document, generated from what it serves.

Each served model gets its own paths, with a request schema built from its signature (column
names and types), so clients, code generators and fuzzers see exactly what it takes.
"""

from __future__ import annotations

from typing import Any

from shipyard._version import __version__
from shipyard.serving._codec import ARROW_FILE, ARROW_STREAM, CSV, JSON, V2_DTYPES

_TYPES = {"bool": {"type": "boolean"}, "string": {"type": "string"},
          "datetime": {"type": "string", "format": "date-time"}}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "hint": {"type": ["string", "null"]}}}}}
_V2_ERROR = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string"}, "code": {"type": "string"}, "hint": {"type": ["string", "null"]}}}
_ERRORS = {"400": "Invalid input (the message names the column, value and expected type)",
           "404": "No such model", "408": "The request body arrived too slowly",
           "413": "The body is larger than the limit", "415": "Unsupported content type",
           "429": "The model's queue is full; retry later",
           "503": "The model is not loaded yet", "504": "The prediction took too long"}


def _errors(schema: dict[str, Any]) -> dict[str, Any]:
    return {code: {"description": text, "content": {JSON: {"schema": schema}}}
            for code, text in _ERRORS.items()}


def _value_schema(col_type: str) -> dict[str, Any]:
    if col_type in _TYPES:
        return dict(_TYPES[col_type])
    if col_type.startswith(("int", "uint")):
        return {"type": "integer"}
    return {"type": "number"}


def _request_schema(model: dict[str, Any]) -> dict[str, Any]:
    sig = model.get("signature") or {}
    inputs = sig.get("inputs") or {}
    if inputs.get("type") == "columns":
        props = {c["name"]: _value_schema(c["type"]) for c in inputs["columns"]}
        required = [c["name"] for c in inputs["columns"] if not c.get("optional")]
        record = {"type": "object", "properties": props, "required": required,
                  "additionalProperties": False}
        row = {"type": "array", "items": {}, "minItems": len(props), "maxItems": len(props)}
        columns = {"type": "object", "properties": {k: {"type": "array", "items": v}
                                                    for k, v in props.items()},
                   "required": required, "additionalProperties": False}
        return {"anyOf": [
            {"type": "array", "items": record, "minItems": 1, "description": "records"},
            {"type": "object", "required": ["records"], "additionalProperties": False,
             "properties": {"records": {"type": "array", "items": record, "minItems": 1}}},
            {"type": "object", "required": ["columns", "data"], "additionalProperties": False,
             "description": "column-split", "properties": {
                 "columns": {"type": "array", "items": {"type": "string",
                                                        "enum": list(props)}},
                 "data": {"type": "array", "items": row, "minItems": 1}}},
            {"type": "object", "required": ["instances"], "additionalProperties": False,
             "properties": {"instances": {"type": "array", "minItems": 1,
                                          "items": {"anyOf": [record, row]}}}},
            {"type": "object", "required": ["inputs"], "additionalProperties": False,
             "properties": {"inputs": columns}},
        ]}
    tensor = {"type": "array", "items": {}, "minItems": 1}
    return {"anyOf": [tensor, {"type": "object", "required": ["instances"],
                               "properties": {"instances": tensor}},
                      {"type": "object", "required": ["inputs"], "properties": {"inputs": tensor}}]}


_PREDICTION = {"type": "object", "required": ["model", "predictions"], "properties": {
    "model": {"type": "string"}, "version": {"type": ["integer", "null"]},
    "predictions": {"type": "array"}, "probabilities": {"type": "array"},
    "classes": {"type": ["array", "null"]}}}
_V2_TENSOR = {"type": "object", "required": ["name", "shape", "datatype", "data"],
              "properties": {"name": {"type": "string"},
                             "shape": {"type": "array", "items": {"type": "integer",
                                                                  "minimum": 0}},
                             "datatype": {"type": "string", "enum": list(V2_DTYPES)},
                             "parameters": {"type": "object"},
                             "data": {"type": "array"}}}
_V2_REQUEST = {"type": "object", "required": ["inputs"], "properties": {
    "id": {"type": "string"}, "parameters": {"type": "object"},
    "inputs": {"type": "array", "items": _V2_TENSOR, "minItems": 1},
    "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                           "properties": {"name": {
                                               "type": "string",
                                               "enum": ["predict", "predict_proba"]}}}}}}
_V2_RESPONSE = {"type": "object", "required": ["model_name", "outputs"], "properties": {
    "model_name": {"type": "string"}, "model_version": {"type": ["string", "null"]},
    "id": {"type": "string"}, "outputs": {"type": "array", "items": _V2_TENSOR}}}


def _ok(schema: dict[str, Any], text: str = "OK") -> dict[str, Any]:
    return {"200": {"description": text, "content": {JSON: {"schema": schema}}}}


def build(models: list[dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the served ``models`` (`ModelHost.describe` output)."""
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "Liveness: the process answers.",
                            "operationId": "health", "responses": _ok(status)}},
        "/ready": {"get": {"summary": "Readiness: every model loaded and warmed up (503 "
                                      "until then).", "operationId": "ready",
                           "responses": {**_ok(status), "503": {"description": "Not ready",
                                                                "content": {JSON: {
                                                                    "schema": status}}}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics.", "operationId": "metrics",
                             "responses": {"200": {"description": "Prometheus text format",
                                                   "content": {"text/plain": {
                                                       "schema": {"type": "string"}}}}}}},
        "/v1/models": {"get": {"summary": "The models served, with versions and signatures.",
                               "operationId": "list_models",
                               "responses": _ok({"type": "object"})}},
        "/v1/feedback": {"post": {
            "summary": "Ground truth for an earlier request, by its request id.",
            "operationId": "feedback",
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["request_id"], "properties": {
                    "model": {"type": "string"}, "request_id": {"type": "string"},
                    "label": {}, "labels": {"type": "array"}}}}}},
            "responses": {"202": {"description": "Accepted", "content": {JSON: {
                "schema": {"type": "object"}}}}, **_errors(_ERROR)}}},
        "/admin/reload": {"post": {
            "summary": "Check the aliases followed now and switch the moved ones (admin).",
            "operationId": "reload",
            "parameters": [{"name": "model", "in": "query", "required": False,
                            "schema": {"type": "string"}}],
            "responses": {**_ok({"type": "object"}), **_errors(_ERROR)}}},
        "/v2": {"get": {"summary": "Open Inference Protocol: server metadata.",
                        "operationId": "v2_server", "responses": _ok({"type": "object"})}},
        "/v2/health/live": {"get": {"operationId": "v2_live", "summary": "OIP liveness.",
                                    "responses": _ok({"type": "object"})}},
        "/v2/health/ready": {"get": {"operationId": "v2_ready", "summary": "OIP readiness.",
                                     "responses": {**_ok({"type": "object"}),
                                                   "503": {"description": "Not ready"}}}},
    }
    body_types = {CSV: {"schema": {"type": "string"}},
                  ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
                  ARROW_FILE: {"schema": {"type": "string", "format": "binary"}}}
    for m in models:
        name = m["name"]
        request = {"required": True, "content": {JSON: {"schema": _request_schema(m)},
                                                 **body_types}}
        methods = m.get("methods") or ["predict"]
        for method in methods:
            paths[f"/v1/models/{name}/{method}"] = {"post": {
                "summary": f"{method} with {name!r} (JSON records, column-split, instances, "
                           "columnar inputs, CSV or Arrow IPC).",
                "operationId": f"{method}_{name}", "requestBody": request,
                "parameters": [{"name": "X-Request-ID", "in": "header", "required": False,
                                "schema": {"type": "string"}}],
                "responses": {**_ok(_PREDICTION), **_errors(_ERROR)}}}
        paths[f"/v1/models/{name}"] = {"get": {"operationId": f"describe_{name}",
                                               "summary": f"Version and signature of {name!r}.",
                                               "responses": {**_ok({"type": "object"}),
                                                             **_errors(_ERROR)}}}
        paths[f"/v2/models/{name}"] = {"get": {"operationId": f"v2_metadata_{name}",
                                               "summary": "OIP model metadata.",
                                               "responses": _ok({"type": "object"})}}
        paths[f"/v2/models/{name}/ready"] = {"get": {
            "operationId": f"v2_model_ready_{name}", "summary": "OIP model readiness.",
            "responses": {**_ok({"type": "object"}), "503": {"description": "Not ready"}}}}
        paths[f"/v2/models/{name}/infer"] = {"post": {
            "operationId": f"v2_infer_{name}", "summary": "OIP v2 inference.",
            "requestBody": {"required": True, "content": {JSON: {"schema": _V2_REQUEST}}},
            "responses": {**_ok(_V2_RESPONSE), **_errors(_V2_ERROR)}}}
    return {"openapi": "3.1.0",
            "info": {"title": "Shipyard model server", "version": __version__,
                     "description": "Predictions from registered models; see docs/serving.md. "
                                    "Errors are {\"error\": {\"code\", \"message\", \"hint\"}} "
                                    "(OIP v2 routes: {\"error\": message})."},
            "paths": paths}
