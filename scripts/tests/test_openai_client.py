"""The official `openai` Python client, unchanged, against a real `nestor serve`."""
import math

import openai
import pytest

from conftest import engine_vectors


def close(a, b, tol=1e-5):
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) <= tol


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused")


def test_string_default_base64(client):
    r = client.embeddings.create(model="multilingual-e5-small", input="query: how do I copy a file?")
    assert r.object == "list" and r.model == "multilingual-e5-small"
    assert len(r.data) == 1 and len(r.data[0].embedding) == 384
    assert close(r.data[0].embedding, engine_vectors(["query: how do I copy a file?"])[0])
    assert r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens


def test_list_float(client):
    texts = ["passage: Der Hund schläft.", "passage: 猫はかわいい。", "passage: hello"]
    r = client.embeddings.create(model="e5", input=texts, encoding_format="float")
    expected = engine_vectors(texts)
    assert [d.index for d in r.data] == [0, 1, 2]
    assert all(close(d.embedding, e) for d, e in zip(r.data, expected))


def test_token_ids(client):
    ids = [0, 41, 1294, 12, 33600, 31, 2]
    r = client.embeddings.create(model="e5", input=ids)
    r2 = client.embeddings.create(model="e5", input=[ids, ids[:4] + [2]])
    assert close(r.data[0].embedding, r2.data[0].embedding)
    assert len(r2.data) == 2 and r.usage.prompt_tokens == len(ids)


def test_unit_norm(client):
    v = client.embeddings.create(model="e5", input="x").data[0].embedding
    assert abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5


def test_errors_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="e5", input="x", dimensions=128)
    assert "matryoshka" in str(e.value).lower()
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="e5", input=[])


def test_dimensions_with_launch_override(matryoshka_server):
    c = openai.OpenAI(base_url=matryoshka_server.url + "/v1", api_key="unused")
    r = c.embeddings.create(model="multilingual-e5-small", input="hello", dimensions=128)
    assert len(r.data[0].embedding) == 128
    full = engine_vectors(["hello"])[0][:128]
    norm = math.sqrt(sum(x * x for x in full))
    assert close(r.data[0].embedding, [x / norm for x in full])
    with pytest.raises(openai.BadRequestError) as e:
        c.embeddings.create(model="multilingual-e5-small", input="hello", dimensions=100)
    assert "128, 256" in str(e.value)


def test_cohere_style_over_plain_http(server):
    status, body = server.post("/v2/embed", {"model": "e5", "texts": ["hello", "world"], "input_type": "search_query",
                                             "embedding_types": ["float", "int8", "ubinary"]})
    assert status == 200
    expected = engine_vectors(["hello", "world"], prompt_name="query")
    assert all(close(a, b) for a, b in zip(body["embeddings"]["float"], expected))
    assert len(body["embeddings"]["ubinary"][0]) == 384 // 8
    status, body = server.post("/v2/embed", {"texts": ["x " * 2000], "truncate": "NONE"})
    assert status == 400 and body["error"]["code"] == "400"
