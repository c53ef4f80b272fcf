import pytest

from xtremedistil_ner.bench.speed import make_texts, ratios, to_markdown
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.runtime.words import split_words

from .conftest import SHARED, need_shared


def test_texts_have_exactly_the_asked_number_of_words_and_mix_languages():
    need_shared()
    texts = make_texts(SHARED / "data" / "wikiann", 8, 32, langs=("de", "hi", "ar"))
    assert len(texts) == 8
    assert all(len(split_words(t)) == 32 for t in texts)
    joined = " ".join(texts)
    assert any("\u0900" <= c <= "\u097f" for c in joined) and any("\u0600" <= c <= "\u06ff" for c in joined)


def test_no_test_files_is_a_clear_error(tmp_path):
    with pytest.raises(XdnerError, match=r"no \*/test\.tsv"):
        make_texts(tmp_path, 2, 4)


def _model(name, kind, params, ms):
    keys = ("batch/end_to_end", "batch/model", "single/end_to_end", "single/model")
    return {
        "name": name,
        "kind": kind,
        "params": params,
        "latency_ms": dict.fromkeys(keys, ms),
        "words_per_second": dict.fromkeys(keys, 1024 / ms * 1000),
        "peak_rss_mb": 500.0,
    }


def test_ratios_are_teacher_over_student():
    report = {
        "workload": {
            "batch": "32 x 32",
            "single": "1 x 32",
            "warmup": 1,
            "repeats_student": 3,
            "repeats_teacher": 2,
            "torch_threads": 2,
        },
        "baseline_rss_mb": 400.0,
        "models": [_model("student (PyTorch)", "student", 1000, 2.0), _model("mBERT", "hf", 50000, 500.0)],
    }
    report["models"][0]["latency_ms"]["batch/end_to_end_warm"] = 1.0  # the word cache kept across calls
    report["ratios"] = ratios(report)
    r = report["ratios"]["mBERT"]["student (PyTorch)"]
    assert r["params"] == 50.0 and r["batch/end_to_end"] == 250.0
    assert r["batch/end_to_end_warm"] == 500.0 and "single/end_to_end_warm" not in r  # vs the teacher's e2e
    table = to_markdown(report)
    assert "| mBERT | student (PyTorch) | 50.0x | 250x | 500x | 250x |" in table
    assert "| mBERT | 50,000 | 500.00 | - | 500.00 |" in table  # a teacher has no warm column
    assert "| student (PyTorch) | 100% | 200% | 100% | - |" in table  # model ms / end-to-end ms, students only


def test_warm_end_to_end_keeps_its_word_cache_and_cold_starts_empty(smoke_run):
    """The warm figure must time a cache that fills on the first call (an empty cache is falsy)."""
    from xtremedistil_ner.bench.speed import _predict
    from xtremedistil_ner.runtime.pieces import PieceCache
    from xtremedistil_ner.serve.torch_backend import load_torch_tagger

    tagger = load_torch_tagger(smoke_run / "student")
    warm = PieceCache(tagger.pieces.tokenizer)
    _predict(tagger, ["Angela Merkel besuchte Paris ."], warm)
    assert len(warm) == 5
    _predict(tagger, ["Paris ."], None)
    assert len(warm) == 5


@pytest.mark.slow
def test_bench_speed_end_to_end_on_the_smoke_student(smoke_run, tmp_path):
    from typer.testing import CliRunner

    from xtremedistil_ner.cli import app

    out = tmp_path / "speed"
    args = [
        "bench",
        "speed",
        str(smoke_run / "student"),
        "--repeats",
        "2",
        "--teacher-repeats",
        "1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    import json

    report = json.loads((out / "speed.json").read_text())
    kinds = [m["kind"] for m in report["models"]]
    assert kinds[:3] == ["student", "student-onnx", "student-int8"] and kinds.count("hf") == 3
    assert all(m["peak_rss_mb"] > 0 and m["latency_ms"]["batch/end_to_end"] > 0 for m in report["models"])
    assert all(m["latency_ms"]["single/end_to_end_warm"] > 0 for m in report["models"] if m["kind"] != "hf")
