import numpy as np
import pytest

from xtremedistil_ner.cache import TransferCache, data_fingerprint
from xtremedistil_ner.data.records import Sentence, TeacherTargets
from xtremedistil_ner.errors import XdnerError

SENTENCES = [Sentence(tuple(f"w{i}_{j}" for j in range(1 + i % 4)), None, "de") for i in range(10)]


def fake_teacher(calls):
    """A deterministic labeler standing in for the teacher; records which sentences it saw."""

    def label(part):
        calls.append(len(part))
        out = []
        for s in part:
            n = len(s.tokens)
            logits = np.arange(n * 3, dtype=np.float32).reshape(n, 3) / 7
            out.append(TeacherTargets(logits, np.full((n, 4), 0.5, np.float16), logits.argmax(-1)))
        return out

    return label


def test_build_load_reuse_and_resume(tmp_path):
    calls: list[int] = []
    cache = TransferCache(tmp_path, "fp1", shard_size=4)
    assert cache.build(SENTENCES, fake_teacher(calls)) == 3
    arrays = cache.load()
    assert arrays["lengths"].tolist() == [len(s.tokens) for s in SENTENCES]
    assert arrays["logits"].shape == (sum(len(s.tokens) for s in SENTENCES), 3)
    assert arrays["hidden"].dtype == np.float16
    assert cache.build(SENTENCES, fake_teacher(calls)) == 0  # reused
    (tmp_path / "shard-00001.safetensors").unlink()  # an interrupted run: one shard missing
    calls.clear()
    assert cache.build(SENTENCES, fake_teacher(calls)) == 1 and calls == [4]
    np.testing.assert_array_equal(cache.load()["logits"], arrays["logits"])


def test_fingerprint_change_invalidates(tmp_path):
    calls: list[int] = []
    TransferCache(tmp_path, "fp1", shard_size=4).build(SENTENCES, fake_teacher(calls))
    calls.clear()
    assert TransferCache(tmp_path, "fp2", shard_size=4).build(SENTENCES, fake_teacher(calls)) == 3
    with pytest.raises(XdnerError, match="does not match"):
        TransferCache(tmp_path, "fp1", shard_size=4).load()


def test_corrupt_shard_is_detected(tmp_path):
    cache = TransferCache(tmp_path, "fp", shard_size=4)
    cache.build(SENTENCES, fake_teacher([]))
    path = tmp_path / "shard-00000.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(XdnerError, match="checksum"):
        cache.load()


def test_data_fingerprint_sees_tokens_and_language():
    a = data_fingerprint(SENTENCES)
    assert a == data_fingerprint(list(SENTENCES))
    assert a != data_fingerprint(SENTENCES[:-1])
    assert a != data_fingerprint([Sentence(s.tokens, None, "fr") for s in SENTENCES])


def test_rows_read_on_demand_equal_the_loaded_arrays(tmp_path):
    cache = TransferCache(tmp_path, "fp", shard_size=3)  # 4 shards: runs of rows cross shard boundaries
    cache.build(SENTENCES, fake_teacher([]))
    full, rows = cache.load(), cache.rows()
    rng = np.random.default_rng(0)
    n = len(full["logits"])
    for index in (np.arange(n), rng.permutation(n), np.array([5, 6, 7, 8, 9, 0, 1]), np.array([], np.int64)):
        for key in ("tags", "logits", "hidden"):
            got = rows[key][index]
            assert got.dtype == full[key].dtype and got.shape == full[key][index].shape
            np.testing.assert_array_equal(got, full[key][index])
    assert rows["hidden"].shape == full["hidden"].shape and len(rows["tags"]) == n
    with pytest.raises(IndexError):
        rows["tags"][np.array([n])]


def test_rows_of_a_truncated_shard_fail_with_the_path(tmp_path):
    cache = TransferCache(tmp_path, "fp", shard_size=4)
    cache.build(SENTENCES, fake_teacher([]))
    rows = cache.rows()
    path = tmp_path / "shard-00002.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a copy cut short: later rows are missing
    with pytest.raises(XdnerError, match=r"shard-00002\.safetensors: truncated"):
        rows["hidden"][np.arange(len(rows["hidden"]))]
    with pytest.raises(XdnerError, match="checksum mismatch"):
        cache.rows()
