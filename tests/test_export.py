import itertools
import json

import numpy as np
import pytest
import torch

from xtremedistil_ner.checkpoint import load_student
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.runtime.crf import marginals, viterbi
from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.serve.torch_backend import TorchBackend
from xtremedistil_ner.student.crf import CRF
from xtremedistil_ner.student.vocab import make_batch

pytest.importorskip("onnxruntime")

WORDS = "Angela Merkel besuchte am Montag Paris und traf Emmanuel Macron in der Stadt Straßburg".split()  # noqa: SIM905


def _sentences(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[str(w) for w in rng.choice(WORDS, rng.integers(1, 14))] for _ in range(n)]


@pytest.fixture(scope="module")
def loaded(smoke_run):
    return load_student(smoke_run / "student")


def test_onnx_graph_equals_the_student_and_padding_never_leaks(loaded, tmp_path):
    from xtremedistil_ner.runtime.onnx import OnnxBackend
    from xtremedistil_ner.serve.onnx_export import export_onnx

    backend = OnnxBackend(export_onnx(loaded.model, tmp_path, int8=False).model, loaded.lookup)
    sentences = [["Paris"], *_sentences(8), WORDS]  # one word, ragged lengths, the longest last
    features = featurize(loaded.tokenizer, sentences)
    ids = list(range(len(sentences)))
    batch = make_batch(features, loaded.lookup, ids)
    with torch.no_grad():
        expected = loaded.model(batch).emissions.numpy()
    got, lengths = backend.emissions(features, ids)
    mask = batch.mask.numpy()
    assert lengths.tolist() == [len(s) for s in sentences]
    assert np.allclose(got[mask], expected[mask], atol=1e-5)
    for i in ids:  # alone, without the batch's padding, each sentence gets the same emissions
        alone, _ = backend.emissions(features, [i])
        assert np.allclose(alone[0], got[i, : len(sentences[i])], atol=1e-5)


def test_a_student_with_word_shapes_exports_the_same_emissions(mbert_tokenizer, tmp_path):
    from xtremedistil_ner.config import StudentConfig
    from xtremedistil_ner.runtime.onnx import OnnxBackend
    from xtremedistil_ner.serve.onnx_export import export_onnx
    from xtremedistil_ner.student.model import StudentTagger
    from xtremedistil_ner.student.vocab import StudentVocab

    sentences = [["PARIS"], *_sentences(6), ["iPhone", "1990s", "3.5", ",", "北京"], WORDS]
    features = featurize(mbert_tokenizer, sentences)
    vocab = StudentVocab.build(mbert_tokenizer, [features], 200)
    lookup = vocab.lookup(mbert_tokenizer)
    torch.manual_seed(0)
    config = StudentConfig(embedding_dim=8, hidden_size=6, num_layers=2, shape_dim=4)
    model = StudentTagger(config, len(vocab), 7, TagVocab.from_types(["PER", "ORG", "LOC"])).eval()
    backend = OnnxBackend(export_onnx(model, tmp_path, int8=False).model, lookup)
    assert backend.takes_shapes
    ids = list(range(len(sentences)))
    batch = make_batch(features, lookup, ids)
    with torch.no_grad():
        expected = model(batch).emissions.numpy()
    got, _ = backend.emissions(features, ids)
    mask = batch.mask.numpy()
    assert np.allclose(got[mask], expected[mask], atol=1e-5)


def test_numpy_crf_equals_torch_crf_and_brute_force():
    tags = TagVocab.from_types(["PER", "LOC"])
    torch.manual_seed(0)
    crf = CRF(len(tags), tags.forbidden_transitions(), tags.forbidden_starts())
    scores = crf.export_scores()
    emissions = torch.randn(6, 4, len(tags))
    lengths = [4, 3, 1, 2, 4, 4]
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    expected_paths = crf.decode(emissions, mask)
    expected_marginals = crf.marginals(emissions, mask).detach()
    start, trans = (x.detach() for x in crf._scores())
    paths = viterbi(emissions.numpy(), np.asarray(lengths), scores)
    probs = marginals(emissions.numpy(), np.asarray(lengths), scores)
    assert np.allclose(probs, expected_marginals.numpy(), atol=1e-5)
    for b, length in enumerate(lengths):
        path = paths[b]
        assert path == expected_paths[b]

        # brute force: the path maximises the constrained score, and never emits O -> I-X
        def total(p, em=emissions[b]):
            s = start[p[0]] + sum(em[t, p[t]] for t in range(len(p))) + crf.end_transitions.detach()[p[-1]]
            return float(s + sum(trans[p[t], p[t + 1]] for t in range(len(p) - 1)))

        best = max(itertools.product(range(len(tags)), repeat=length), key=total)
        assert tuple(path) == best
        assert all(not (a == 0 and tags.tags[c].startswith("I-")) for a, c in itertools.pairwise(path))


def test_onnx_and_int8_runtimes_agree_with_pytorch(loaded, tmp_path):
    from xtremedistil_ner.runtime.onnx import OnnxBackend
    from xtremedistil_ner.serve.agreement import compare_backends
    from xtremedistil_ner.serve.onnx_export import export_onnx

    exported = export_onnx(loaded.model, tmp_path / "onnx", int8=True)
    assert exported.int8 is not None and exported.int8.stat().st_size < exported.model.stat().st_size
    assert set(json.loads(exported.crf.read_text())) == {"start", "transitions", "end"}
    onnx = OnnxBackend(exported.model, loaded.lookup)
    features = featurize(loaded.tokenizer, _sentences(20, seed=1))
    ids = list(range(20))
    emissions, lengths = onnx.emissions(features, ids)
    assert lengths.tolist() == featurize(loaded.tokenizer, _sentences(20, seed=1)).lengths().tolist()
    batch = make_batch(features, loaded.lookup, ids)
    with torch.no_grad():
        expected = loaded.model(batch).emissions.numpy()
    assert np.allclose(emissions[batch.mask.numpy()], expected[batch.mask.numpy()], atol=1e-4)
    for (path, probs), (ref_path, ref_probs) in zip(
        onnx.tag(features, ids), TorchBackend(loaded.model, loaded.lookup).tag(features, ids), strict=True
    ):
        assert path == ref_path and np.allclose(probs, ref_probs, atol=1e-4)
    rng = np.random.default_rng(2)
    gold = [Sentence(tuple(s), tuple(rng.choice(loaded.tags.tags, len(s))), "de") for s in _sentences(30, seed=3)]
    from xtremedistil_ner.data.tags import repair_bio

    gold = [Sentence(s.tokens, repair_bio(s.tags), s.lang) for s in gold]
    result = compare_backends(
        {
            "pytorch": TorchBackend(loaded.model, loaded.lookup),
            "onnx": onnx,
            "onnx-int8": OnnxBackend(exported.int8, loaded.lookup),
        },
        loaded.tokenizer,
        loaded.tags,
        gold,
    )
    overall = result["overall"]
    assert overall["onnx"]["agreement"] == 1.0 and overall["onnx"]["f1_change"] == 0.0
    assert overall["pytorch"]["agreement"] == 1.0
    assert 0.0 <= overall["onnx-int8"]["agreement"] <= 1.0
    assert (
        result["languages"]["de"] == overall
    )  # one language: the same figures  # int8 agreement on a real student: xdner export --check


def test_cli_export_and_check(smoke_run, tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from xtremedistil_ner.cli import app

    from .conftest import ROOT

    monkeypatch.chdir(ROOT)
    student = tmp_path / "student"
    shutil.copytree(smoke_run / "student", student)
    result = CliRunner().invoke(app, ["export", str(student), "--check", "--recipe", "recipes/smoke.toml"])
    assert result.exit_code == 0, result.output
    for name in ("model.onnx", "model.int8.onnx", "crf.json", "agreement.json"):
        assert (student / "onnx" / name).is_file(), name
    agreement = json.loads((student / "onnx" / "agreement.json").read_text())
    assert agreement["sentences"] == 40 and set(agreement["languages"]) == {"de", "hi"}
    assert agreement["overall"]["onnx"]["agreement"] == 1.0
    assert set(agreement["overall"]) == {"pytorch", "onnx", "onnx-int8"}


def test_single_sentence_python_path_equals_the_batched_numpy_path():
    from xtremedistil_ner.runtime.crf import decode_with_scores

    tags = TagVocab.from_types(["PER", "ORG", "LOC"])
    torch.manual_seed(3)
    crf = CRF(len(tags), tags.forbidden_transitions(), tags.forbidden_starts())
    with torch.no_grad():
        for p in crf.parameters():
            p.mul_(20)
    scores = crf.export_scores()
    rng = np.random.default_rng(4)
    for length in (1, 2, 5, 31, 100):
        emissions = (rng.standard_normal((1, length, len(tags))) * 5).astype(np.float32)
        padded = np.concatenate([emissions, np.zeros((1, 3, len(tags)), np.float32)], axis=1)
        batch = np.concatenate([padded, rng.standard_normal((1, length + 3, len(tags))).astype(np.float32)])
        ((path, probs),) = decode_with_scores(emissions, np.array([length]), scores)
        (ref_path, ref_probs), _ = decode_with_scores(batch, np.array([length, length + 3]), scores)
        assert path == ref_path
        assert np.allclose(probs, ref_probs, atol=1e-6)
