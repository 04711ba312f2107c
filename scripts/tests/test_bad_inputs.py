"""Regression list of hand-made bad inputs, sent over real HTTP to a real `nestor serve`.

Every case must answer the status in its row (a 4xx), never a 5xx, with an OpenAI-shaped JSON
error body ({"error": {"message", "type", "param", "code"}}, `code` the status as a string); a
405 must carry an `Allow` header naming the route's methods; and /health must still answer after
each case. Rows are (name, method, path, body, expected status[, options]); a body that is
`bytes` is sent as it is, anything else as JSON (ASCII, so "\\ud800" travels as an escape).
ACCEPTED lists inputs at the edge of a limit that must still succeed, so no limit is off by one.
"""
import http.client
import json
import socket
import urllib.parse

import pytest

from conftest import Server

COLL = "bad"          # a collection created by the fixture, holding the documents in SEED
DIM = 384             # multilingual-e5-small
VOCAB = 250037        # its config.json vocab_size
KEY = "sekret-key"
SEED = [
    {"id": "seed-1", "text": "To copy a file, use cp SOURCE DEST.", "metadata": {"lang": "en", "year": 2024}},
    {"id": "seed-2", "text": "Zum Kopieren einer Datei dient cp.", "metadata": {"lang": "de", "year": 2019}},
]
AUTH_TYPE = {401: "authentication_error"}


def nested(depth, leaf="1"):
    return ("[" * depth + leaf + "]" * depth).encode()


def nested_obj(depth):
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def search(**kw):
    return {"collection": COLL, "query": "copy a file", **kw}


def ingest(docs=None, **kw):
    return {"collection": COLL, "documents": docs if docs is not None else [{"text": "hello"}], **kw}


def emb(**kw):
    return {"model": "multilingual-e5-small", **kw}


ZEROS = [0.0] * DIM
ONES = [1.0] * DIM

# (name, method, path, body, expected status or set of statuses, options)
# options: field=NAME (the 400 must name it: in `param` or in the message); headers={...};
#          allow={methods} (for 405).
CASES = [
    # --- the body as bytes: encoding and JSON syntax --------------------------------------------
    ("invalid utf-8 in a string", "POST", "/v1/embeddings", b'{"input": "\xff\xfe\xfd"}', 400),
    ("invalid utf-8 overlong slash", "POST", "/v1/embeddings", b'{"input": "\xc0\xaf"}', 400),
    ("invalid utf-8 in a key", "POST", "/search", b'{"collection": "bad", "\xff": 1, "query": "x"}', 400),
    ("invalid utf-8 truncated sequence", "POST", "/ingest", b'{"collection": "bad", "documents": [{"text": "\xe2\x82"}]}', 400),
    ("lone high surrogate escape", "POST", "/v1/embeddings", b'{"input": "\\ud800"}', 400),
    ("lone low surrogate escape", "POST", "/v1/embeddings", b'{"input": "a\\udc00b"}', 400),
    ("lone surrogate in a document id", "POST", "/ingest", b'{"collection": "bad", "documents": [{"id": "\\ud83d", "text": "x"}]}', 400),
    ("lone surrogate in metadata", "POST", "/ingest", b'{"collection": "bad", "documents": [{"text": "x", "metadata": {"k": "\\udfff"}}]}', 400),
    ("raw NUL byte inside a string", "POST", "/v1/embeddings", b'{"input": "a\x00b"}', 400),
    ("raw NUL byte before the body", "POST", "/v1/embeddings", b'\x00{"input": "a"}', 400),
    ("raw control byte inside a string", "POST", "/search", b'{"collection": "bad", "query": "a\x01b"}', 400),
    ("empty body", "POST", "/v1/embeddings", b"", 400),
    ("body null", "POST", "/v1/embeddings", b"null", 400),
    ("body an array", "POST", "/search", b"[]", 400),
    ("body a number", "POST", "/collections", b"42", 400),
    ("body a string", "POST", "/ingest", b'"documents"', 400),
    ("truncated JSON", "POST", "/v1/embeddings", b'{"input": ', 400),
    ("trailing garbage", "POST", "/v1/embeddings", b'{"input": "a"} x', 400),
    ("single-quoted JSON", "POST", "/v1/embeddings", b"{'input': 'a'}", 400),
    ("nested arrays 10k deep", "POST", "/v1/embeddings", b'{"input": ' + nested(10_000) + b"}", 400),
    ("nested objects 10k deep in metadata", "POST", "/ingest",
     b'{"collection": "bad", "documents": [{"text": "x", "metadata": ' + nested_obj(10_000) + b"}]}", 400),
    ("nested objects 10k deep in a filter", "POST", "/search",
     b'{"collection": "bad", "query": "x", "filter": {"f": ' + nested_obj(10_000) + b"}}", 400),
    ("top-level array 10k deep", "POST", "/search", nested(10_000), 400),
    ("1e400 as top_k", "POST", "/search", b'{"collection": "bad", "query": "x", "top_k": 1e400}', 400),
    ("1e400 in a vector", "POST", "/search", b'{"collection": "bad", "vector": [1e400' + b", 0.5" * (DIM - 1) + b"]}", 400),
    ("-1e400 as m", "POST", "/collections", b'{"name": "neg-inf", "m": -1e400}', 400),
    ("-0 as top_k", "POST", "/search", b'{"collection": "bad", "query": "x", "top_k": -0}', 400),
    ("-0.0 as ef", "POST", "/search", b'{"collection": "bad", "query": "x", "ef": -0.0}', 400),
    ("NaN literal", "POST", "/search", b'{"collection": "bad", "query": "x", "top_k": NaN}', 400),
    ("Infinity literal", "POST", "/search", b'{"collection": "bad", "query": "x", "ef": Infinity}', 400),
    ("body over 8 MiB", "POST", "/v1/embeddings", b'{"input": "' + b"a" * (9 << 20) + b'"}', 413),

    # --- Content-Type ---------------------------------------------------------------------------
    *[(f"text/notjson to {p}", "POST", p, body, 415, {"headers": {"Content-Type": "text/notjson"}})
      for p, body in [("/v1/embeddings", emb(input="x")), ("/v2/embed", {"texts": ["x"]}),
                      ("/v1/score", {"text_1": "a", "text_2": "b"}), ("/score", {"text_1": "a", "text_2": "b"}),
                      ("/collections", {"name": "ct"}), ("/ingest", ingest()), ("/search", search())]],
    ("form-encoded body", "POST", "/v1/embeddings", b"input=x", 415,
     {"headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("text/plain body", "POST", "/search", search(), 415, {"headers": {"Content-Type": "text/plain"}}),

    # --- routes and methods ---------------------------------------------------------------------
    ("unknown route", "GET", "/nope", None, 404),
    ("unknown route under /v1", "POST", "/v1/nothing", emb(input="x"), 404),
    ("unknown route, deep", "GET", "/collections/bad/x/y", None, 404),
    ("documents of a missing collection", "GET", "/documents/no-such-collection", None, 404),
    ("suffix on a known route", "POST", "/v1/embeddings/extra", emb(input="x"), 404),
    # Hummingbird's HTTP parser refuses a request line over its 80 KiB header limit before any
    # route or middleware runs, with a bare 400 and Connection: close: the one answer whose body
    # is not OpenAI-shaped (the server stays up; see README, Reliability).
    ("1 MB URL", "GET", "/collections/" + "a" * (1 << 20), None, {400, 404, 414, 431}, {"bare_parser_error": True}),
    *[(f"{m} {p} is 405", m, p, None, 405, {"allow": allow}) for m, p, allow in [
        ("GET", "/v1/embeddings", {"POST"}), ("PUT", "/v1/embeddings", {"POST"}), ("GET", "/v2/embed", {"POST"}),
        ("GET", "/v1/score", {"POST"}), ("DELETE", "/score", {"POST"}), ("POST", "/v1/models", {"GET"}),
        ("POST", "/health", {"GET"}), ("DELETE", "/metrics", {"GET"}), ("PUT", "/openapi.json", {"GET"}),
        ("PUT", "/collections", {"GET", "POST"}), ("DELETE", "/collections", {"GET", "POST"}),
        ("POST", f"/collections/{COLL}", {"GET", "DELETE"}), ("PATCH", f"/collections/{COLL}", {"GET", "DELETE"}),
        ("GET", f"/collections/{COLL}/optimize", {"POST"}), ("GET", "/ingest", {"POST"}), ("DELETE", "/ingest", {"POST"}),
        ("GET", "/search", {"POST"}), ("POST", f"/documents/{COLL}/seed-1", {"GET", "DELETE"}),
        ("PUT", f"/documents/{COLL}/seed-1", {"GET", "DELETE"})]],

    # --- unknown fields -------------------------------------------------------------------------
    ("unknown field, embeddings", "POST", "/v1/embeddings", emb(input="x", foo=1), 400, {"field": "foo"}),
    ("unknown field, cohere", "POST", "/v2/embed", {"texts": ["x"], "bar": True}, 400, {"field": "bar"}),
    ("unknown field, score", "POST", "/v1/score", {"text_1": "a", "text_2": "b", "text_3": "c"}, 400, {"field": "text_3"}),
    ("unknown field, create collection", "POST", "/collections", {"name": "uf", "dims": 3}, 400, {"field": "dims"}),
    ("unknown field, ingest", "POST", "/ingest", ingest(collectoin="x"), 400, {"field": "collectoin"}),
    ("unknown field, search", "POST", "/search", search(topk=3), 400, {"field": "topk"}),
    ("unknown field in a document", "POST", "/ingest", ingest([{"text": "x", "meta": {}}]), 400, {"field": "meta"}),
    ("unknown field in chunking", "POST", "/ingest", ingest(chunking={"max_tokens": 50, "overlap": 5}), 400, {"field": "overlap"}),
    ("misspelt field with a null value", "POST", "/search", search(filters=None), 400, {"field": "filters"}),

    # --- types and ranges: search ---------------------------------------------------------------
    ("top_k 0", "POST", "/search", search(top_k=0), 400, {"field": "top_k"}),
    ("top_k 1001", "POST", "/search", search(top_k=1001), 400, {"field": "top_k"}),
    ("top_k negative", "POST", "/search", search(top_k=-5), 400, {"field": "top_k"}),
    ("top_k 1e20", "POST", "/search", search(top_k=1e20), 400, {"field": "top_k"}),
    ("top_k 2.5", "POST", "/search", search(top_k=2.5), 400, {"field": "top_k"}),
    ("top_k a string", "POST", "/search", search(top_k="5"), 400, {"field": "top_k"}),
    ("top_k true", "POST", "/search", search(top_k=True), 400, {"field": "top_k"}),
    ("rerank_depth -1", "POST", "/search", search(rerank_depth=-1), 400, {"field": "rerank_depth"}),
    ("rerank_depth 10001", "POST", "/search", search(rerank_depth=10001), 400, {"field": "rerank_depth"}),
    ("rerank_depth false", "POST", "/search", search(rerank_depth=False), 400, {"field": "rerank_depth"}),
    ("ef 0", "POST", "/search", search(ef=0), 400, {"field": "ef"}),
    ("ef 10001", "POST", "/search", search(ef=10001), 400, {"field": "ef"}),
    ("ef 3.5", "POST", "/search", search(ef=3.5), 400, {"field": "ef"}),
    ("exact a number", "POST", "/search", search(exact=1), 400, {"field": "exact"}),
    ("group_by_document a string", "POST", "/search", search(group_by_document="yes"), 400, {"field": "group_by_document"}),
    ("include unknown value", "POST", "/search", search(include=["text", "bogus"]), 400, {"field": "include"}),
    ("include not an array", "POST", "/search", search(include="text"), 400, {"field": "include"}),
    ("query empty", "POST", "/search", search(query=""), 400, {"field": "query"}),
    ("query a number", "POST", "/search", search(query=5), 400, {"field": "query"}),
    ("query and vector", "POST", "/search", search(vector=ONES), 400),
    ("neither query nor vector", "POST", "/search", {"collection": COLL}, 400),
    ("collection missing", "POST", "/search", {"query": "x"}, 400, {"field": "collection"}),
    ("collection a number", "POST", "/search", {"collection": 7, "query": "x"}, 400, {"field": "collection"}),
    ("collection unknown", "POST", "/search", {"collection": "nope", "query": "x"}, 404),
    ("vector wrong length", "POST", "/search", {"collection": COLL, "vector": [0.1, 0.2, 0.3]}, 400, {"field": "vector"}),
    ("vector one too long", "POST", "/search", {"collection": COLL, "vector": ONES + [1.0]}, 400, {"field": "vector"}),
    ("vector empty", "POST", "/search", {"collection": COLL, "vector": []}, 400, {"field": "vector"}),
    ("vector all zeros", "POST", "/search", {"collection": COLL, "vector": ZEROS}, 400, {"field": "vector"}),
    ("vector NaN as a string", "POST", "/search", {"collection": COLL, "vector": ["NaN"] + ONES[1:]}, 400, {"field": "vector"}),
    ("vector with a null", "POST", "/search", {"collection": COLL, "vector": [None] + ONES[1:]}, 400, {"field": "vector"}),
    ("vector with a boolean", "POST", "/search", {"collection": COLL, "vector": [True] + ONES[1:]}, 400, {"field": "vector"}),
    ("vector with 1e39 (overflows float32)", "POST", "/search", {"collection": COLL, "vector": [1e39] + ONES[1:]}, 400, {"field": "vector"}),
    ("vector not an array", "POST", "/search", {"collection": COLL, "vector": "0.1,0.2"}, 400, {"field": "vector"}),

    # --- filters --------------------------------------------------------------------------------
    *[(f"filter mixing a field and an operator #{i}", "POST", "/search", search(filter={"year": f}), 400, {"field": "filter"})
      for i, f in enumerate([{"a": 1, "$gte": 2020}, {"$gte": 2020, "a": 1}, {"zz": 1, "$lt": 3}, {"$in": [1], "b": 2},
                             {"x": None, "$exists": True}, {"m": 1, "n": 2, "$ne": 3}])],
    ("filter mixing, nested in $and", "POST", "/search", search(filter={"$and": [{"year": {"q": 1, "$gt": 1}}]}), 400, {"field": "filter"}),
    ("filter $in with a non-array", "POST", "/search", search(filter={"lang": {"$in": "en"}}), 400, {"field": "filter"}),
    ("filter $nin with an object", "POST", "/search", search(filter={"lang": {"$nin": {"a": 1}}}), 400, {"field": "filter"}),
    ("filter unknown operator", "POST", "/search", search(filter={"lang": {"$regex": "e.*"}}), 400, {"field": "filter"}),
    ("filter unknown top-level operator", "POST", "/search", search(filter={"$not": {"lang": "en"}}), 400, {"field": "filter"}),
    ("filter $and not an array", "POST", "/search", search(filter={"$and": {"lang": "en"}}), 400, {"field": "filter"}),
    ("filter $or empty", "POST", "/search", search(filter={"$or": []}), 400, {"field": "filter"}),
    ("filter $and item not an object", "POST", "/search", search(filter={"$and": [1]}), 400, {"field": "filter"}),
    ("filter $gt with a boolean", "POST", "/search", search(filter={"year": {"$gt": True}}), 400, {"field": "filter"}),
    ("filter $lte with null", "POST", "/search", search(filter={"year": {"$lte": None}}), 400, {"field": "filter"}),
    ("filter $exists with a string", "POST", "/search", search(filter={"year": {"$exists": "yes"}}), 400, {"field": "filter"}),
    ("filter an array", "POST", "/search", search(filter=[{"lang": "en"}]), 400, {"field": "filter"}),
    ("filter a string", "POST", "/search", search(filter="lang = en"), 400, {"field": "filter"}),

    # --- ingest ---------------------------------------------------------------------------------
    ("documents empty", "POST", "/ingest", ingest([]), 400, {"field": "documents"}),
    ("documents 3000", "POST", "/ingest", ingest([{"text": f"d{i}"} for i in range(3000)]), {400, 413}, {"field": "documents"}),
    ("documents not an array", "POST", "/ingest", ingest({"text": "x"}), 400, {"field": "documents"}),
    ("documents missing", "POST", "/ingest", {"collection": COLL}, 400, {"field": "documents"}),
    ("document not an object", "POST", "/ingest", ingest(["just text"]), 400, {"field": "documents"}),
    ("document text missing", "POST", "/ingest", ingest([{"id": "t"}]), 400, {"field": "text"}),
    ("document text a number", "POST", "/ingest", ingest([{"text": 5}]), 400, {"field": "text"}),
    ("document text empty", "POST", "/ingest", ingest([{"text": ""}]), 400, {"field": "text"}),
    ("document id 600 bytes", "POST", "/ingest", ingest([{"id": "x" * 600, "text": "t"}]), 400, {"field": "id"}),
    ("document id 513 bytes", "POST", "/ingest", ingest([{"id": "x" * 513, "text": "t"}]), 400, {"field": "id"}),
    ("document id 258 × ü (516 bytes)", "POST", "/ingest", ingest([{"id": "ü" * 258, "text": "t"}]), 400, {"field": "id"}),
    ("document id empty", "POST", "/ingest", ingest([{"id": "", "text": "t"}]), 400, {"field": "id"}),
    *[(f"document id with U+{ord(c):04X}", "POST", "/ingest", ingest([{"id": f"a{c}b", "text": "t"}]), 400, {"field": "id"})
      for c in ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]],
    ("document id a boolean", "POST", "/ingest", ingest([{"id": True, "text": "t"}]), 400, {"field": "id"}),
    ("document id an object", "POST", "/ingest", ingest([{"id": {"a": 1}, "text": "t"}]), 400, {"field": "id"}),
    ("document ids twice in a batch", "POST", "/ingest", ingest([{"id": "dup", "text": "a"}, {"id": "dup", "text": "b"}]), 400, {"field": "id"}),
    ("metadata 1 MB", "POST", "/ingest", ingest([{"text": "t", "metadata": {"blob": "x" * (1 << 20)}}]), {400, 413}, {"field": "metadata"}),
    ("metadata an array", "POST", "/ingest", ingest([{"text": "t", "metadata": [1, 2]}]), 400, {"field": "metadata"}),
    ("metadata a string", "POST", "/ingest", ingest([{"text": "t", "metadata": "lang=en"}]), 400, {"field": "metadata"}),
    ("metadata a number", "POST", "/ingest", ingest([{"text": "t", "metadata": 5}]), 400, {"field": "metadata"}),
    ("metadata true", "POST", "/ingest", ingest([{"text": "t", "metadata": True}]), 400, {"field": "metadata"}),
    ("metadata 40 levels deep", "POST", "/ingest", ingest([{"text": "t", "metadata": json.loads(nested_obj(40))}]), 400, {"field": "metadata"}),
    ("metadata with an empty key", "POST", "/ingest", ingest([{"text": "t", "metadata": {"": 1}}]), 400, {"field": "metadata"}),
    ("metadata with a 300-byte key", "POST", "/ingest", ingest([{"text": "t", "metadata": {"k" * 300: 1}}]), 400, {"field": "metadata"}),
    ("more than 4,096 chunks in a batch", "POST", "/ingest", ingest([{"text": "word " * 5000}], chunking={"max_tokens": 1}), 413, {"field": "documents"}),
    ("chunking max_tokens negative", "POST", "/ingest", ingest(chunking={"max_tokens": -1}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens zero", "POST", "/ingest", ingest(chunking={"max_tokens": 0}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens over the model limit", "POST", "/ingest", ingest(chunking={"max_tokens": 100_000}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens 1e20", "POST", "/ingest", ingest(chunking={"max_tokens": 1e20}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens 1.5", "POST", "/ingest", ingest(chunking={"max_tokens": 1.5}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens a string", "POST", "/ingest", ingest(chunking={"max_tokens": "100"}), 400, {"field": "max_tokens"}),
    ("chunking max_tokens true", "POST", "/ingest", ingest(chunking={"max_tokens": True}), 400, {"field": "max_tokens"}),
    ("chunking overlap equal to max", "POST", "/ingest", ingest(chunking={"max_tokens": 50, "overlap_tokens": 50}), 400, {"field": "overlap_tokens"}),
    ("chunking overlap over max", "POST", "/ingest", ingest(chunking={"max_tokens": 50, "overlap_tokens": 80}), 400, {"field": "overlap_tokens"}),
    ("chunking overlap negative", "POST", "/ingest", ingest(chunking={"max_tokens": 50, "overlap_tokens": -1}), 400, {"field": "overlap_tokens"}),
    ("chunking overlap 2.5", "POST", "/ingest", ingest(chunking={"max_tokens": 50, "overlap_tokens": 2.5}), 400, {"field": "overlap_tokens"}),
    ("chunking not an object", "POST", "/ingest", ingest(chunking=[100, 10]), 400, {"field": "chunking"}),
    ("ingest into an unknown collection", "POST", "/ingest", {"collection": "nope", "documents": [{"text": "x"}]}, 404),
    ("ingest collection missing", "POST", "/ingest", {"documents": [{"text": "x"}]}, 400, {"field": "collection"}),

    # --- collections ----------------------------------------------------------------------------
    ("collection name missing", "POST", "/collections", {"m": 16}, 400, {"field": "name"}),
    ("collection name empty", "POST", "/collections", {"name": ""}, 400, {"field": "name"}),
    ("collection name with a space", "POST", "/collections", {"name": "a b"}, 400, {"field": "name"}),
    ("collection name with a slash", "POST", "/collections", {"name": "a/b"}, 400, {"field": "name"}),
    ("collection name non-ASCII", "POST", "/collections", {"name": "ü"}, 400, {"field": "name"}),
    ("collection name 129 characters", "POST", "/collections", {"name": "a" * 129}, 400, {"field": "name"}),
    ("collection name with NUL", "POST", "/collections", {"name": "a\x00"}, 400, {"field": "name"}),
    ("collection name a number", "POST", "/collections", {"name": 5}, 400, {"field": "name"}),
    ("collection exists with other settings", "POST", "/collections", {"name": COLL, "m": 33}, 409, {"field": "name"}),
    ("m 1", "POST", "/collections", {"name": "m1", "m": 1}, 400, {"field": "m"}),
    ("m 129", "POST", "/collections", {"name": "m129", "m": 129}, 400, {"field": "m"}),
    ("m 16.5", "POST", "/collections", {"name": "mf", "m": 16.5}, 400, {"field": "m"}),
    ("m a boolean", "POST", "/collections", {"name": "mb", "m": True}, 400, {"field": "m"}),
    ("ef_construction 0", "POST", "/collections", {"name": "e0", "ef_construction": 0}, 400, {"field": "ef_construction"}),
    ("ef_construction 4097", "POST", "/collections", {"name": "e4097", "ef_construction": 4097}, 400, {"field": "ef_construction"}),
    ("coarse_dimensions 0", "POST", "/collections", {"name": "c0", "coarse_dimensions": 0}, 400, {"field": "coarse_dimensions"}),
    ("coarse_dimensions over the model's", "POST", "/collections", {"name": "c385", "coarse_dimensions": DIM + 1}, 400, {"field": "coarse_dimensions"}),
    ("coarse_dimensions 1e20", "POST", "/collections", {"name": "cbig", "coarse_dimensions": 1e20}, 400, {"field": "coarse_dimensions"}),
    ("get unknown collection", "GET", "/collections/nope", None, 404),
    ("delete unknown collection", "DELETE", "/collections/nope", None, 404),
    ("optimize unknown collection", "POST", "/collections/nope/optimize", None, 404),
    ("get unknown document", "GET", f"/documents/{COLL}/nope", None, 404),
    ("delete unknown document", "DELETE", f"/documents/{COLL}/nope", None, 404),
    ("document in an unknown collection", "GET", "/documents/nope/seed-1", None, 404),
    ("document id percent-encoded invalid utf-8", "GET", f"/documents/{COLL}/%FF%FE", None, {400, 404}),
    ("document id malformed percent escape", "GET", f"/documents/{COLL}/%ZZ", None, {400, 404}),
    ("document id percent-encoded 600 bytes", "GET", f"/documents/{COLL}/" + "%41" * 600, None, {400, 404}),
    ("document id percent-encoded NUL", "GET", f"/documents/{COLL}/a%00b", None, {400, 404}),

    # --- embeddings -----------------------------------------------------------------------------
    ("token id = vocabulary size", "POST", "/v1/embeddings", emb(input=[0, VOCAB, 2]), 400, {"field": "input"}),
    ("token id negative", "POST", "/v1/embeddings", emb(input=[0, -1, 2]), 400, {"field": "input"}),
    ("token id 1e12", "POST", "/v1/embeddings", emb(input=[[0, 10**12, 2]]), 400, {"field": "input"}),
    ("token id 1e20", "POST", "/v1/embeddings", emb(input=[0, 1e20, 2]), 400, {"field": "input"}),
    ("token id 1.5", "POST", "/v1/embeddings", emb(input=[0, 1.5, 2]), 400, {"field": "input"}),
    ("token id a boolean", "POST", "/v1/embeddings", emb(input=[0, True, 2]), 400, {"field": "input"}),
    ("empty token list in a list", "POST", "/v1/embeddings", emb(input=[[1, 2], []]), 400, {"field": "input"}),
    ("input empty list", "POST", "/v1/embeddings", emb(input=[]), 400, {"field": "input"}),
    ("input empty string", "POST", "/v1/embeddings", emb(input=""), 400, {"field": "input"}),
    ("input empty string in a list", "POST", "/v1/embeddings", emb(input=["a", ""]), 400, {"field": "input"}),
    ("input missing", "POST", "/v1/embeddings", emb(), 400, {"field": "input"}),
    ("input null", "POST", "/v1/embeddings", emb(input=None), 400, {"field": "input"}),
    ("input a number", "POST", "/v1/embeddings", emb(input=5), 400, {"field": "input"}),
    ("input an object", "POST", "/v1/embeddings", emb(input={"text": "a"}), 400, {"field": "input"}),
    ("input a boolean", "POST", "/v1/embeddings", emb(input=True), 400, {"field": "input"}),
    ("input strings and numbers mixed", "POST", "/v1/embeddings", emb(input=["a", 1]), 400, {"field": "input"}),
    ("input token lists and strings mixed", "POST", "/v1/embeddings", emb(input=[[1, 2], "a"]), 400, {"field": "input"}),
    ("input 2049 strings", "POST", "/v1/embeddings", emb(input=["a"] * 2049), 400, {"field": "input"}),
    ("input too long with truncate NONE", "POST", "/v1/embeddings", emb(input="word " * 2000, truncate="NONE"), 400, {"field": "input"}),
    ("dimensions on a non-Matryoshka model", "POST", "/v1/embeddings", emb(input="x", dimensions=128), 400, {"field": "dimensions"}),
    ("dimensions 0", "POST", "/v1/embeddings", emb(input="x", dimensions=0), 400, {"field": "dimensions"}),
    ("dimensions over the model's", "POST", "/v1/embeddings", emb(input="x", dimensions=4096), 400, {"field": "dimensions"}),
    ("dimensions a string", "POST", "/v1/embeddings", emb(input="x", dimensions="128"), 400, {"field": "dimensions"}),
    ("encoding_format int8", "POST", "/v1/embeddings", emb(input="x", encoding_format="int8"), 400, {"field": "encoding_format"}),
    ("truncate sideways", "POST", "/v1/embeddings", emb(input="x", truncate="SIDEWAYS"), 400, {"field": "truncate"}),
    ("truncate_prompt_tokens 0", "POST", "/v1/embeddings", emb(input="x", truncate_prompt_tokens=0), 400, {"field": "truncate_prompt_tokens"}),
    ("truncate_prompt_tokens -2", "POST", "/v1/embeddings", emb(input="x", truncate_prompt_tokens=-2), 400, {"field": "truncate_prompt_tokens"}),
    ("truncation_side up", "POST", "/v1/embeddings", emb(input="x", truncation_side="up"), 400, {"field": "truncation_side"}),
    ("input_type image", "POST", "/v1/embeddings", emb(input="x", input_type="image"), 400, {"field": "input_type"}),
    ("prompt_name unknown", "POST", "/v1/embeddings", emb(input="x", prompt_name="nope"), 400, {"field": "prompt_name"}),
    ("add_special_tokens a string", "POST", "/v1/embeddings", emb(input="x", add_special_tokens="yes"), 400, {"field": "add_special_tokens"}),
    ("model unknown", "POST", "/v1/embeddings", emb(input="x", model="text-embedding-3-small"), 404, {"field": "model"}),
    ("model a number", "POST", "/v1/embeddings", emb(input="x", model=3), 400, {"field": "model"}),
    ("cohere images beside texts", "POST", "/v2/embed", {"texts": ["x"], "images": ["data:image/png;base64,AAAA"]}, 400, {"field": "images"}),
    ("cohere inputs beside texts", "POST", "/v2/embed", {"texts": ["x"], "inputs": [{"content": [{"type": "text", "text": "x"}]}]}, 400, {"field": "inputs"}),
    ("cohere texts missing", "POST", "/v2/embed", {"embedding_types": ["float"]}, 400, {"field": "texts"}),
    ("cohere texts empty", "POST", "/v2/embed", {"texts": []}, 400, {"field": "texts"}),
    ("cohere texts a string", "POST", "/v2/embed", {"texts": "x"}, 400, {"field": "texts"}),
    ("cohere texts with an empty string", "POST", "/v2/embed", {"texts": ["x", ""]}, 400, {"field": "texts"}),
    ("cohere embedding_types int4", "POST", "/v2/embed", {"texts": ["x"], "embedding_types": ["int4"]}, 400, {"field": "embedding_types"}),
    ("cohere embedding_types empty", "POST", "/v2/embed", {"texts": ["x"], "embedding_types": []}, 400, {"field": "embedding_types"}),
    ("cohere output_dimension on a non-Matryoshka model", "POST", "/v2/embed", {"texts": ["x"], "output_dimension": 128}, 400, {"field": "output_dimension"}),
    ("cohere dimensions not allowed", "POST", "/v2/embed", {"texts": ["x"], "dimensions": 128}, 400, {"field": "dimensions"}),
    ("cohere input_type image", "POST", "/v2/embed", {"texts": ["x"], "input_type": "image"}, 400, {"field": "input_type"}),
    ("cohere max_tokens 0", "POST", "/v2/embed", {"texts": ["x"], "max_tokens": 0}, 400, {"field": "max_tokens"}),
    ("score text_2 missing", "POST", "/v1/score", {"text_1": "a"}, 400, {"field": "text_2"}),
    ("score lists of different lengths", "POST", "/v1/score", {"text_1": ["a", "b"], "text_2": ["c", "d", "e"]}, 400, {"field": "text_1"}),
    ("score text_1 empty list", "POST", "/score", {"text_1": [], "text_2": "b"}, 400, {"field": "text_1"}),
    ("score text_2 a number", "POST", "/score", {"text_1": "a", "text_2": 5}, 400, {"field": "text_2"}),
    ("score text_1 empty string", "POST", "/score", {"text_1": "", "text_2": "b"}, 400, {"field": "text_1"}),
]

# Bodies that are bad only in a subtle way must still be accepted: the limits are not off by one.
ACCEPTED = [
    ("document id of 512 bytes", "POST", "/ingest", ingest([{"id": "y" * 512, "text": "t"}]), 200),
    ("document id of 256 × ü (512 bytes)", "POST", "/ingest", ingest([{"id": "ü" * 256, "text": "t"}]), 200),
    ("chunking overlap max − 1", "POST", "/ingest", ingest(chunking={"max_tokens": 20, "overlap_tokens": 19}), 200),
    ("chunking without max_tokens (the model's default)", "POST", "/ingest", ingest(chunking={"overlap_tokens": 2}), 200),
    ("an integer document id", "POST", "/ingest", ingest([{"id": 42, "text": "t"}]), 200),
    ("optional fields null", "POST", "/search", search(top_k=None, filter=None, include=None, vector=None), 200),
    ("a +json media type", "POST", "/v1/embeddings", emb(input="x"), 200, {"headers": {"Content-Type": "application/vnd.api+json"}}),
    ("top_k 1000, rerank_depth 10000, ef 10000", "POST", "/search", search(top_k=1000, rerank_depth=10000, ef=10000), 200),
    ("top_k 1, rerank_depth 0, ef 1", "POST", "/search", search(top_k=1, rerank_depth=0, ef=1), 200),
    ("top_k 5.0 (an integer in JSON)", "POST", "/search", search(top_k=5.0), 200),
    ("filter with only operators", "POST", "/search", search(filter={"year": {"$gte": 2020, "$lt": 2030}}), 200),
    ("filter equality with an object of plain keys", "POST", "/search", search(filter={"year": {"a": 1}}), 200),
    ("vector of ones", "POST", "/search", {"collection": COLL, "vector": ONES, "top_k": 1}, 200),
    ("input with an escaped NUL character", "POST", "/v1/embeddings", emb(input="a\u0000b"), 200),
    ("m 2 / ef_construction 1 / coarse_dimensions = model's", "POST", "/collections",
     {"name": "edge", "m": 2, "ef_construction": 1, "coarse_dimensions": DIM}, 201),
    ("lowercase header name content-type", "POST", "/v1/embeddings", emb(input="x"), 200,
     {"headers": {"content-type": "application/json; charset=utf-8"}}),
]


def request(port, method, path, body=None, headers=None, timeout=60):
    """One request on a fresh connection; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        h = {} if data is None else {"Content-Type": "application/json"}
        for k, v in (headers or {}).items():
            h = {hk: hv for hk, hv in h.items() if hk.lower() != k.lower()}
            h[k] = v
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def error_problems(status, body):
    """What is wrong with a 4xx/5xx body, as a list of sentences (empty when it is right)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return [f"body is not JSON: {body[:200]!r}"]
    e = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(e, dict):
        return [f"no 'error' object: {doc!r:.200}"]
    out = []
    if not isinstance(e.get("message"), str) or not e["message"]:
        out.append("error.message is not a non-empty string")
    want = AUTH_TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if e.get("type") != want:
        out.append(f"error.type is {e.get('type')!r}, expected {want!r}")
    if "param" not in e or not (e["param"] is None or isinstance(e["param"], str)):
        out.append(f"error.param is {e.get('param', '<absent>')!r}, expected a string or null")
    if e.get("code") != str(status):
        out.append(f"error.code is {e.get('code')!r}, expected {str(status)!r}")
    return out


def check(srv, case):
    name, method, path, body, expect, *rest = case
    opts = rest[0] if rest else {}
    expect = expect if isinstance(expect, set) else {expect}
    problems = []
    try:
        status, headers, data = request(srv.port, method, path, body, opts.get("headers"))
    except (OSError, http.client.HTTPException) as e:
        status, headers, data = None, {}, b""
        problems.append(f"no HTTP answer ({type(e).__name__}: {e})")
    if status is not None:
        if status not in expect:
            problems.append(f"status {status}, expected {sorted(expect)}")
        if status >= 400 and not (opts.get("bare_parser_error") and status == 400 and not data):
            problems += error_problems(status, data)
        if status >= 400 and opts.get("field"):
            try:
                e = json.loads(data)["error"]
                named = opts["field"] in (e.get("param") or "") or opts["field"] in e.get("message", "")
            except (ValueError, KeyError, TypeError):
                named = False
            if not named:
                problems.append(f"the error does not name {opts['field']!r}")
        if "allow" in opts and status == 405:
            allow = {m.strip().upper() for m in (headers.get("Allow") or "").split(",") if m.strip()}
            if not opts["allow"] <= allow or allow - opts["allow"] - {"HEAD", "OPTIONS"}:
                problems.append(f"Allow is {headers.get('Allow')!r}, expected {', '.join(sorted(opts['allow']))}")
    if srv.proc.poll() is not None:
        pytest.fail(f"{name}: the server died (exit {srv.proc.returncode})\n{srv.output()[-3000:]}")
    try:
        health, _, _ = request(srv.port, "GET", "/health", timeout=10)
        if health != 200:
            problems.append(f"/health answered {health} afterwards")
    except (OSError, http.client.HTTPException) as e:
        problems.append(f"/health did not answer afterwards ({e})")
    if problems:
        return f"{name}: {method} {path[:80]} -> {status}: " + "; ".join(problems) + f" | body: {data[:300]!r}"
    return None


@pytest.fixture(scope="module")
def srv():
    s = Server()
    try:
        assert s.post("/collections", {"name": COLL})[0] == 201
        status, reply = s.post("/ingest", {"collection": COLL, "documents": SEED})
        assert status == 200, reply
        yield s
    finally:
        s.stop()


def run_table(srv, table):
    failures = [f for f in (check(srv, c) for c in table) if f]
    assert not failures, f"{len(failures)} of {len(table)} cases failed:\n" + "\n".join(failures)


def test_case_names_are_unique():
    names = [c[0] for c in CASES + ACCEPTED]
    assert len(names) == len(set(names))


def test_bad_inputs(srv):
    run_table(srv, CASES)


def test_edge_inputs_are_accepted(srv):
    run_table(srv, ACCEPTED)


ODD_IDS = ["a b", "a/b", "100%", "ü", "a%2Fb", "?x#y&z=1", " leading", "+plus+", "日本語/ä ö"]


@pytest.mark.parametrize("doc_id", ODD_IDS)
def test_percent_encoded_ids_round_trip(srv, doc_id):
    status, reply = srv.post("/ingest", {"collection": COLL, "documents": [{"id": doc_id, "text": "odd id " + doc_id}]})
    assert status == 200 and reply["documents"][0]["id"] == doc_id, reply
    path = f"/documents/{COLL}/" + urllib.parse.quote(doc_id, safe="")
    status, _, body = request(srv.port, "GET", path)
    assert status == 200, (path, body[:300])
    got = json.loads(body)
    assert got["id"] == doc_id and got["text"] == "odd id " + doc_id
    status, _, body = request(srv.port, "DELETE", path)
    assert status == 200 and json.loads(body)["id"] == doc_id, (path, body[:300])
    status, _, body = request(srv.port, "GET", path)
    assert status == 404 and not error_problems(404, body), body[:300]


RAW = [  # (name, bytes): not HTTP, or broken HTTP; the server may answer 400 or close, never 5xx
    ("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64),
    ("HTTP/9.9", b"GET / HTTP/9.9\r\n\r\n"),
    ("binary request line", b"\xff\xfe\xfd\r\n\r\n"),
    ("invalid UTF-8 in the path", b"GET /collections/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("negative Content-Length", b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    ("Content-Length 1e20", b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"),
    ("malformed chunked body", b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
]


def test_raw_socket_garbage_does_not_kill_the_server(srv):
    failures = []
    for name, junk in RAW:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as s:
            s.sendall(junk)
            try:
                answer = s.recv(300)
            except OSError:
                answer = b""
        if answer.startswith(b"HTTP/1.1 5"):
            failures.append(f"{name}: answered {answer!r}")
        assert srv.proc.poll() is None, f"{name}: the server died\n" + srv.output()[-3000:]
        assert request(srv.port, "GET", "/health")[0] == 200, name
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def keyed():
    s = Server("--api-key", KEY)
    yield s
    s.stop()


AUTH_CASES = [
    ("no Authorization", {}, 401),
    ("wrong key", {"Authorization": "Bearer nope"}, 401),
    ("Basic scheme", {"Authorization": "Basic c2VrcmV0LWtleTo="}, 401),
    ("the key without a scheme", {"Authorization": KEY}, 401),
    ("Bearer without a key", {"Authorization": "Bearer"}, 401),
    ("Bearer and a space only", {"Authorization": "Bearer "}, 401),
    ("Token scheme", {"Authorization": f"Token {KEY}"}, 401),
    ("key with a suffix", {"Authorization": f"Bearer {KEY}x"}, 401),
    ("key as a prefix of the header", {"Authorization": f"Bearer {KEY[:-1]}"}, 401),
    ("right key", {"Authorization": f"Bearer {KEY}"}, 200),
    ("lowercase bearer", {"Authorization": f"bearer {KEY}"}, 200),
    ("uppercase BEARER", {"Authorization": f"BEARER {KEY}"}, 200),
]


def test_authorization_schemes(keyed):
    table = [(f"auth: {n}", "POST", "/v1/embeddings", emb(input="x"), st, {"headers": h}) for n, h, st in AUTH_CASES]
    table += [("auth: models without a key", "GET", "/v1/models", None, 401),
              ("auth: search without a key", "POST", "/search", search(), 401),
              ("auth: unknown route without a key", "GET", "/nope", None, {401, 404})]
    run_table(keyed, table)
    assert request(keyed.port, "GET", "/health")[0] == 200  # /health stays open
