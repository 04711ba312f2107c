"""The OpenAPI document against a real `nestor serve`: it is a valid OpenAPI 3.1 document that
describes every route fully (operation ids, path parameters, request and response schemas, the
error shape), and a bounded schemathesis run over every operation finds no 5xx, no answer the
document does not declare, and no body that does not match it. The long campaign is
Benchmarks/reliability/fuzz.py (`--minutes N`); the checks it runs, and why the others are left
out, are listed there."""
import json
import os
import re
import sys
import urllib.request

import pytest

from conftest import E5, ROOT, Server, nestor_binary

sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "reliability"))

SOURCE = os.path.join(ROOT, "Sources", "NestorHTTP", "openapi.json")
ROUTES = {
    "/v1/embeddings": {"post"}, "/v1/embed": {"post"}, "/v2/embed": {"post"}, "/v1/score": {"post"},
    "/score": {"post"}, "/tokenize": {"post"}, "/v1/rerank": {"post"}, "/rerank": {"post"}, "/v2/rerank": {"post"}, "/v1/models": {"get"}, "/v1/models/{id}": {"get"},
    "/health": {"get"}, "/metrics": {"get"}, "/openapi.json": {"get"},
    "/collections": {"get", "post"}, "/collections/{name}": {"get", "delete"},
    "/collections/{name}/optimize": {"post"}, "/ingest": {"post"}, "/search": {"post"},
    "/documents/{collection}": {"get"}, "/documents/{collection}/{id}": {"get", "delete"},
    "/replication": {"get"}, "/replication/verify": {"get"},
}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        node = doc
        for p in path:
            node = node[p]
    return node


def problems(doc):
    """What the document fails to describe, as sentences."""
    from openapi_spec_validator import validate

    out = []
    try:
        validate(doc)
    except Exception as e:  # the validator's own exception types vary between releases
        return [f"not a valid OpenAPI document: {e}"]
    if not doc.get("openapi", "").startswith("3.1"):
        out.append(f"openapi is {doc.get('openapi')!r}, not 3.1")
    paths = doc.get("paths", {})
    for route, methods in ROUTES.items():
        declared = {m for m in paths.get(route, {}) if m in METHODS}
        if declared != methods:
            out.append(f"{route} declares {sorted(declared)}, the server serves {sorted(methods)}")
    ids = []
    for route, item in paths.items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {route}"
            ids.append(op.get("operationId"))
            if not op.get("operationId"):
                out.append(f"{where} has no operationId")
            params = [resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            templated = set(re.findall(r"{([^}]+)}", route))
            if declared != templated:
                out.append(f"{where} declares path parameters {sorted(declared)}, the path has {sorted(templated)}")
            responses = op.get("responses", {})
            ok = [c for c in responses if c.startswith("2")]
            if not ok:
                out.append(f"{where} declares no 2xx response")
            for code in ok:
                content = resolve(doc, responses[code]).get("content", {})
                if not any("schema" in m for m in content.values()):
                    out.append(f"{where} {code} has no response schema")
            for code, r in responses.items():
                if code[0] in "45":
                    schema = resolve(doc, r).get("content", {}).get("application/json", {}).get("schema", {})
                    if schema.get("$ref") != "#/components/schemas/Error":
                        out.append(f"{where} {code} is not the Error schema")
            if method == "post" and route != "/collections/{name}/optimize":
                body = resolve(doc, op.get("requestBody", {}))
                schema = resolve(doc, body.get("content", {}).get("application/json", {}).get("schema", {}))
                if not schema:
                    out.append(f"{where} has no request body schema")
                elif schema.get("additionalProperties") is not False:
                    out.append(f"{where}: the request body does not forbid unknown fields")
                if "400" not in responses or "415" not in responses:
                    out.append(f"{where} does not declare 400 and 415")
    if len(ids) != len(set(ids)):
        out.append("operationIds are not unique")

    def walk(node, where):
        if isinstance(node, dict):
            t = node.get("type")
            if (t == "array" or isinstance(t, list) and "array" in t) and "items" not in node and "prefixItems" not in node:
                out.append(f"an array without items at {where}")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc, "#")
    err = doc.get("components", {}).get("schemas", {}).get("Error", {})
    fields = err.get("properties", {}).get("error", {}).get("properties", {})
    if set(fields) != {"message", "type", "param", "code"} or fields.get("code", {}).get("type") != "string":
        out.append("the Error schema is not {error: {message, type, param, code: string}}")
    return out


def test_source_document_describes_every_route():
    pytest.importorskip("openapi_spec_validator")
    with open(SOURCE) as f:
        doc = json.load(f)
    assert not problems(doc), "\n".join(problems(doc))


@pytest.fixture(scope="module")
def served():
    if not os.path.exists(os.path.join(E5, "model.safetensors")):
        pytest.skip("models/multilingual-e5-small is absent (scripts/fetch_models.py)")
    nestor_binary()  # skips when nestor is not built
    s = Server()
    yield s
    s.stop()


def test_served_document_is_valid_and_complete(served):
    pytest.importorskip("openapi_spec_validator")
    with urllib.request.urlopen(served.url + "/openapi.json", timeout=10) as r:
        assert r.headers.get_content_type() == "application/json"
        doc = json.loads(r.read())
    found = problems(doc)
    assert not found, "\n".join(found)


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(tmp_path):
    """About a minute of schemathesis (examples, boundary values, random and schema-violating
    data, stateful create/get/delete sequences) against a fresh server. Arrays are capped at 16
    items for this bounded run: the coverage phase sends every array at its maxItems, and 2,048
    texts take many seconds to embed on two cores."""
    pytest.importorskip("schemathesis")
    if not os.path.exists(os.path.join(E5, "model.safetensors")):
        pytest.skip("models/multilingual-e5-small is absent (scripts/fetch_models.py)")
    from fuzz import campaign, report

    lines = []
    r = campaign(nestor_binary(), E5, 55, max_examples=25, max_items=16, seed=20261202, workdir=str(tmp_path))
    report(r, lines.append)
    summary = "\n".join(lines)
    assert r["alive"], summary
    assert r["cases"] > 200, summary
    assert not r["server_errors"], summary
    assert not r["failures"], summary
    assert not r["errors"], summary
