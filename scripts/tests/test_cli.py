"""`nestor ingest` and `nestor search`, the real binary: against a running server (`--url`) and
on the store directly (`--direct`), which is refused while a server holds the same store; what
one wrote, the other finds."""
import json
import subprocess

from conftest import E5, Server, nestor_binary


def nestor(*args, check=True):
    r = subprocess.run([nestor_binary(), *args], capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"nestor {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def search(target, query, *extra):
    out = nestor("search", "--collection", "notes", *target, "--json", *extra, query).stdout
    return json.loads(out)["hits"]


def test_ingest_and_search_through_a_server_and_directly(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "volcano.txt").write_text("Volcanoes erupt molten rock called lava from deep inside the Earth.\n")
    (docs / "sub" / "bread.md").write_text("# Baking\n\nBread rises because yeast ferments the sugars in dough.\n")
    (docs / "ignored.bin").write_text("not a document")
    (docs / "extra.jsonl").write_text(
        json.dumps({"id": "moon", "text": "The Moon orbits the Earth about once a month.", "metadata": {"topic": "space"}}) + "\n"
        + json.dumps({"id": "tea", "text": "Green tea is brewed from unoxidised leaves.", "metadata": {"topic": "food"}}) + "\n")
    db = str(tmp_path / "store.sqlite")

    s = Server(sqlite=db)
    try:
        via_url = ["--url", s.url]
        out = nestor("ingest", "--collection", "notes", *via_url, "--batch-size", "2", str(docs))
        assert "ingested 4 documents" in out.stdout
        hits = search(via_url, "Wie entsteht Lava?")
        assert hits[0]["document_id"].endswith("volcano.txt")
        hits = search(via_url, "natural satellite of our planet", "--filter", '{"topic": "space"}')
        assert [h["document_id"] for h in hits] == ["moon"] and hits[0]["metadata"] == {"topic": "space"}

        # The server owns the store: a direct writer would fork its in-memory graph.
        refused = nestor("search", "--collection", "notes", "--direct", "--model", E5, "--sqlite-path", db, "lava", check=False)
        assert refused.returncode != 0 and "another Nestor process" in refused.stderr
    finally:
        s.stop()

    direct = ["--direct", "--model", E5, "--sqlite-path", db]
    late = tmp_path / "late.jsonl"
    late.write_text(json.dumps({"id": "glacier", "text": "Glaciers are rivers of ice that carve valleys.", "metadata": {"topic": "earth"}}) + "\n")
    nestor("ingest", "--collection", "notes", *direct, str(late))
    hits = search(direct, "Qu'est-ce qu'un glacier ?")
    assert hits[0]["document_id"] == "glacier" and hits[0]["metadata"] == {"topic": "earth"}
    assert [h["document_id"] for h in search(direct, "tea", "--filter", '{"topic": {"$in": ["food"]}}')] == ["tea"]
    plain = nestor("search", "--collection", "notes", *direct, "--top-k", "2", "baking bread").stdout.splitlines()
    assert len(plain) == 2 and "bread.md#0" in plain[0]

    # Restarted on the same store, the server sees the directly ingested document.
    s = Server(sqlite=db)
    try:
        hits = search(["--url", s.url], "ice carving valleys")
        assert hits[0]["document_id"] == "glacier"
        assert len(search(["--url", s.url], "anything", "--top-k", "10")) == 5
    finally:
        s.stop()


def test_cli_errors_are_clear(tmp_path):
    db = str(tmp_path / "store.sqlite")
    missing = nestor("search", "--collection", "nope", "--direct", "--model", E5, "--sqlite-path", db, "q", check=False)
    assert missing.returncode != 0 and "nope" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = nestor("ingest", "--collection", "c", "--direct", "--model", E5, "--sqlite-path", db, str(empty), check=False)
    assert r.returncode != 0 and "no .txt, .md or .jsonl documents" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    r = nestor("ingest", "--collection", "c", "--direct", "--model", E5, "--sqlite-path", db, str(bad), check=False)
    assert r.returncode != 0 and "bad.jsonl:1" in r.stderr
    r = nestor("search", "--collection", "c", "--url", "http://127.0.0.1:9", "q", check=False)
    assert r.returncode != 0
