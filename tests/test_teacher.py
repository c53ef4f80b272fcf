import numpy as np
import pytest
import torch

from xtremedistil_ner.config import TeacherConfig
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.teacher import IGNORE_INDEX, build_teacher, collate, encode, predict_targets

from .conftest import MBERT, XLMR, need_shared

TAGS = TagVocab.from_types(["PER", "ORG", "LOC"])
GERMAN = ("Das", "ist", "ein", "sehr", "langer", "Satz", "mit", "vielen", "Wörtern", "und", "Zeichen", ".")


def tiny_teacher(path, **kw):
    need_shared()
    cfg = TeacherConfig(
        config=str(path),
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=2,
        intermediate_size=64,
        max_length=16,
        **kw,
    )
    torch.manual_seed(0)
    return build_teacher(cfg, TAGS), cfg


def test_labels_go_on_the_first_subword_only(mbert_tokenizer):
    sentence = Sentence(("Unbelievably", "Merkel", "ging"), ("O", "B-PER", "O"), "de")
    (window,) = encode(mbert_tokenizer, [sentence], 64, TAGS)
    labelled = [i for i, label in enumerate(window.labels) if label != IGNORE_INDEX]
    assert len(labelled) == 3
    for pos, word in zip(labelled, range(3), strict=True):
        assert window.word_index[pos] == word
        assert window.word_index[pos - 1] != word  # the first piece of the word
    assert window.word_index[0] == -1 and window.word_index[-1] == -1  # [CLS], [SEP]


def test_long_sentences_are_windowed_not_cut(mbert_tokenizer):
    tokens = tuple(f"Wort{i}" for i in range(40))
    windows = encode(mbert_tokenizer, [Sentence(tokens, ("O",) * 40, "de")], 16)
    assert len(windows) > 1
    assert all(len(w.input_ids) <= 16 for w in windows)
    assert sum(w.num_words for w in windows) == 40
    assert [w.first_word for w in windows] == sorted(w.first_word for w in windows)


@pytest.mark.parametrize("which", ["mbert", "xlmr"])
def test_predict_targets_gives_one_row_per_word(which):
    (model, tokenizer), cfg = tiny_teacher(MBERT if which == "mbert" else XLMR, hidden_layer=1)
    sentences = [
        Sentence(GERMAN * 2, None, "de"),
        Sentence(("「", "Tokyo", "」"), None, "ja"),
        Sentence(("x",), None, "en"),
    ]
    got = dict(predict_targets(model, tokenizer, sentences, cfg, with_hidden=True))
    assert sorted(got) == [0, 1, 2]
    for i, s in enumerate(sentences):
        assert got[i].logits.shape == (len(s.tokens), len(TAGS))
        assert got[i].hidden.shape == (len(s.tokens), 32) and got[i].hidden.dtype == np.float16
        assert got[i].tags.tolist() == got[i].logits.argmax(-1).tolist()


def test_xlmr_bare_underscore_is_skipped_for_the_label(xlmr_tokenizer):
    sentence = Sentence(("「", "Tokyo", "」"), ("O", "B-LOC", "O"), "ja")
    (window,) = encode(xlmr_tokenizer, [sentence], 32, TAGS)
    pieces = xlmr_tokenizer.convert_ids_to_tokens([i for i in window.input_ids if i >= 0])
    batch = collate(xlmr_tokenizer, [window])
    labelled = (batch["labels"][0] != IGNORE_INDEX).nonzero().flatten().tolist()
    assert len(labelled) == 3
    chosen = xlmr_tokenizer.convert_ids_to_tokens(batch["input_ids"][0, labelled].tolist())
    assert "▁" not in chosen, (pieces, chosen)


def test_pretrained_teacher_weights_load_through_safetensors_only(tmp_path, mbert_tokenizer):
    from transformers import AutoConfig, AutoModelForTokenClassification

    from tests.conftest import MBERT
    from xtremedistil_ner.config import TeacherConfig
    from xtremedistil_ner.errors import XdnerError
    from xtremedistil_ner.teacher import build_teacher

    config = AutoConfig.from_pretrained(
        str(MBERT), num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32, num_labels=7
    )
    model = AutoModelForTokenClassification.from_config(config)
    tags = TagVocab.from_types(["PER", "ORG", "LOC"])
    for name in ("pickled", "safe"):
        model.save_pretrained(tmp_path / name)
        mbert_tokenizer.save_pretrained(tmp_path / name)
    # an old-style checkpoint: weights only as a pickled pytorch_model.bin (save_pretrained no longer writes it)
    (tmp_path / "pickled" / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "pickled" / "pytorch_model.bin")
    with pytest.raises(XdnerError, match="only safetensors weights are read"):
        build_teacher(TeacherConfig(model=str(tmp_path / "pickled")), tags)
    loaded, _ = build_teacher(TeacherConfig(model=str(tmp_path / "safe")), tags)
    assert torch.equal(loaded.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)
    # opting in reads pytorch_model.bin with torch.load(weights_only=True) (transformers' loader)
    loaded, _ = build_teacher(TeacherConfig(model=str(tmp_path / "pickled"), allow_bin_weights=True), tags)
    assert torch.equal(loaded.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)


def test_num_hidden_layers_cuts_a_pretrained_teacher_to_its_bottom_layers(tmp_path, mbert_tokenizer):
    from transformers import AutoConfig, AutoModelForTokenClassification

    config = AutoConfig.from_pretrained(
        str(MBERT), num_hidden_layers=3, hidden_size=16, num_attention_heads=2, intermediate_size=32, num_labels=7
    )
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_config(config)
    model.save_pretrained(tmp_path / "m")
    mbert_tokenizer.save_pretrained(tmp_path / "m")
    cut, _ = build_teacher(TeacherConfig(model=str(tmp_path / "m"), num_hidden_layers=2, hidden_layer=2), TAGS)
    assert cut.config.num_hidden_layers == 2 and len(cut.bert.encoder.layer) == 2
    for kept, full in zip(cut.bert.encoder.layer, model.bert.encoder.layer[:2], strict=True):
        weights = zip(kept.state_dict().values(), full.state_dict().values(), strict=True)
        assert all(torch.equal(a, b) for a, b in weights)
    with pytest.raises(ValueError, match="hidden_layer"):
        TeacherConfig(model="m", num_hidden_layers=2, hidden_layer=3)


def _train_sentences(n: int) -> list[Sentence]:
    tags = ("O", "B-PER", "O", "O", "O", "B-LOC", "O", "O", "O", "O", "O", "O")
    return [Sentence(GERMAN, tags, "de") for _ in range(n)]


def test_teacher_steps_override_epochs_and_frozen_embeddings_stay_put():
    from accelerate import Accelerator

    from xtremedistil_ner.teacher import train_teacher

    (model, tokenizer), cfg = tiny_teacher(MBERT, steps=5, epochs=1, batch_size=4, freeze_embeddings=True)
    before = model.get_input_embeddings().weight.detach().clone()
    layer = model.bert.encoder.layer[0].attention.self.query.weight.detach().clone()
    seen: list[int] = []
    done: list[int] = []

    def start(total: int):
        seen.append(total)
        return done.append

    # 8 sentences at batch 4: 2 steps an epoch, but steps = 5 runs 5 (3 epochs, the last one cut)
    losses = train_teacher(model, tokenizer, TAGS, _train_sentences(8), cfg, Accelerator(cpu=True), 0, start)
    assert seen == [5] and sum(done) == 5 and len(losses) == 3
    assert torch.equal(model.get_input_embeddings().weight, before)
    assert not torch.equal(model.bert.encoder.layer[0].attention.self.query.weight, layer)


def test_cheap_dropout_trains_the_teacher_and_gives_back_its_dropout_modules():
    from accelerate import Accelerator
    from torch import nn

    from xtremedistil_ner.cheap_dropout import CheapDropout
    from xtremedistil_ner.teacher import train_teacher

    (model, tokenizer), cfg = tiny_teacher(MBERT, steps=3, epochs=1, batch_size=4, cheap_dropout=True)
    originals = [m for m in model.modules() if type(m) is nn.Dropout]
    layer = model.bert.encoder.layer[0].output.dense.weight.detach().clone()
    seen_cheap: list[bool] = []
    hook = model.bert.encoder.layer[0].output.register_forward_pre_hook(
        lambda module, args: seen_cheap.append(isinstance(module.dropout, CheapDropout))
    )
    losses = train_teacher(model, tokenizer, TAGS, _train_sentences(8), cfg, Accelerator(cpu=True), 0, None)
    hook.remove()
    assert seen_cheap == [True, True, True] and all(np.isfinite(losses))
    assert not torch.equal(model.bert.encoder.layer[0].output.dense.weight, layer)
    assert [m for m in model.modules() if type(m) is nn.Dropout] == originals  # restored for saving and labeling


def test_cheap_dropout_is_undone_when_fine_tuning_fails():
    from accelerate import Accelerator
    from torch import nn

    from xtremedistil_ner.teacher import train_teacher

    (model, tokenizer), cfg = tiny_teacher(MBERT, steps=3, epochs=1, batch_size=4, cheap_dropout=True)
    originals = [m for m in model.modules() if type(m) is nn.Dropout]

    def fail(module: nn.Module, args: object) -> None:
        raise RuntimeError("step failed")

    hook = model.bert.encoder.layer[0].output.register_forward_pre_hook(fail)
    with pytest.raises(RuntimeError, match="step failed"):
        train_teacher(model, tokenizer, TAGS, _train_sentences(8), cfg, Accelerator(cpu=True), 0, None)
    hook.remove()
    assert [m for m in model.modules() if type(m) is nn.Dropout] == originals


def test_sliced_steps_give_the_whole_batch_gradient_and_loss():
    """teacher.step_pieces: slices weighted by their labeled pieces sum to the one-pass gradient of the batch."""
    from xtremedistil_ner.teacher import sliced_loss

    (model, tokenizer), _ = tiny_teacher(MBERT)
    model.eval()  # no dropout: both ways see the same network
    sentences = [
        Sentence(
            GERMAN[: 3 + i % 7], ("O", "B-PER", "I-PER", "O", "B-LOC", "O", "O", "O", "O", "O")[: 3 + i % 7], "de"
        )
        for i in range(10)
    ]
    batch = collate(tokenizer, encode(tokenizer, sentences, 16, TAGS))  # 10 rows, 13 pieces wide
    calls: list[int] = []

    def forward(part):
        calls.append(len(part["input_ids"]))
        return model(input_ids=part["input_ids"], attention_mask=part["attention_mask"], labels=part["labels"]).loss

    def gradients(step_pieces):
        model.zero_grad()
        calls.clear()

        def accumulate(rows, share):
            part = forward(rows) * share
            part.backward()
            return part.detach()

        loss = sliced_loss(batch, step_pieces, forward, accumulate)
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in model.parameters() if p.grad is not None], list(calls)

    whole_loss, whole, whole_calls = gradients(0)
    sliced_loss_value, sliced, sliced_calls = gradients(40)  # 40 padded pieces: 3 rows of 13 a slice
    assert whole_calls == [10] and sliced_calls == [3, 3, 3, 1]
    assert sliced_loss_value == pytest.approx(whole_loss, rel=1e-5)
    assert len(sliced) == len(whole)
    for a, b in zip(sliced, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert gradients(10_000)[2] == [10]  # a group that fits: one pass


def test_bf16_autocast_labels_like_float32_on_a_tiny_teacher():
    import dataclasses

    (model, tokenizer), cfg = tiny_teacher(MBERT, hidden_layer=1)
    sentences = [Sentence(GERMAN, None, "de"), Sentence(("Paris", "ist", "groß"), None, "de")]
    plain = dict(predict_targets(model, tokenizer, sentences, cfg))
    bf16 = dict(predict_targets(model, tokenizer, sentences, dataclasses.replace(cfg, autocast="bf16")))
    for i in plain:
        assert bf16[i].logits.dtype == np.float32 and bf16[i].logits.shape == plain[i].logits.shape
        np.testing.assert_allclose(bf16[i].logits, plain[i].logits, atol=0.1)


def test_freeze_layers_keeps_the_bottom_layers_and_rejects_too_many():
    from xtremedistil_ner.errors import XdnerError
    from xtremedistil_ner.teacher import freeze

    (model, _), _ = tiny_teacher(MBERT)
    freeze(model, False, 1)
    bert = model.bert
    assert not any(p.requires_grad for p in bert.embeddings.parameters())
    assert not any(p.requires_grad for p in bert.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in bert.encoder.layer[1].parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    with pytest.raises(XdnerError, match="has 2 layers"):
        freeze(model, False, 3)


def test_layer_decay_gives_each_layer_its_rate_and_one_rate_keeps_two_groups():
    from xtremedistil_ner.teacher import freeze, param_groups

    (model, _), _ = tiny_teacher(MBERT)
    freeze(model, True, 0)
    rate = {id(p): (g["lr"], g["weight_decay"]) for g in param_groups(model, 1e-3, 0.01, 0.5) for p in g["params"]}
    named = dict(model.named_parameters())
    layers = model.bert.encoder.layer
    assert rate[id(layers[1].attention.self.query.weight)] == (1e-3, 0.01)  # the top layer: lr
    assert rate[id(layers[0].attention.self.query.weight)] == (5e-4, 0.01)  # one below: lr * 0.5
    assert rate[id(layers[0].attention.self.query.bias)] == (5e-4, 0.0)
    assert rate[id(model.classifier.weight)] == (1e-3, 0.01)
    assert rate[id(named["bert.embeddings.LayerNorm.weight"])] == (2.5e-4, 0.0)  # below the bottom layer
    assert id(model.bert.embeddings.word_embeddings.weight) not in rate  # frozen: in no group
    assert len(rate) == sum(p.requires_grad for p in model.parameters())
    flat = param_groups(model, 1e-3, 0.01, 1.0)
    assert sorted((g["lr"], g["weight_decay"]) for g in flat) == [(1e-3, 0.0), (1e-3, 0.01)]
    with pytest.raises(ValueError, match="layer_decay"):
        TeacherConfig(layer_decay=0.0)


def test_viterbi_decode_gives_valid_iob2_and_keeps_valid_argmax_paths():
    import itertools

    import numpy as np

    from xtremedistil_ner.data.tags import TagVocab, bio_problem
    from xtremedistil_ner.teacher import _assemble, iob2_constraints

    tags = TagVocab.from_types(["PER", "LOC"])

    from types import SimpleNamespace

    constraints = iob2_constraints(SimpleNamespace(config=SimpleNamespace(id2label=dict(enumerate(tags.tags)))))
    rng = np.random.default_rng(0)
    for _ in range(200):
        logits = rng.normal(size=(4, len(tags))).astype(np.float32) * 3
        part = [(0, logits, np.zeros((4, 0), np.float16))]
        argmax = _assemble(list(part)).tags
        decoded = _assemble(list(part), constraints).tags
        assert bio_problem(tags.decode(decoded)) is None
        if bio_problem(tags.decode(argmax)) is None:
            assert decoded.tolist() == argmax.tolist()
        else:  # the best valid path by brute force over all IOB2-valid sequences
            log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
            valid = [p for p in itertools.product(range(len(tags)), repeat=4) if bio_problem(tags.decode(p)) is None]
            best = max(valid, key=lambda p: sum(log_probs[i, t] for i, t in enumerate(p)))
            assert decoded.tolist() == list(best)


def test_dev_checkpoint_scores_at_its_steps_and_restores_the_best_weights():
    from accelerate import Accelerator

    from xtremedistil_ner.teacher import dev_scorer, train_teacher
    from xtremedistil_ner.teacher_dev import DevCheckpoint

    (model, tokenizer), cfg = tiny_teacher(MBERT, steps=5, batch_size=4, lr=1e-2, freeze_embeddings=True)
    dev = _train_sentences(3)
    real = dev_scorer(tokenizer, dev, cfg, TAGS, "cpu", "conlleval")
    scripted = iter([0.5, 0.9, 0.3])  # steps 2, 4, 5: step 4 is the best
    kept: dict[int, torch.Tensor] = {}
    modes: list[bool] = []

    def score(m: torch.nn.Module) -> float:
        f1 = real(m)  # the real scorer runs (and leaves the model in train mode)
        modes.append(m.training)
        assert 0.0 <= f1 <= 1.0
        kept[len(kept)] = m.classifier.weight.detach().clone()
        return next(scripted)

    checkpoint = DevCheckpoint(2, 0, score)
    train_teacher(model, tokenizer, TAGS, _train_sentences(8), cfg, Accelerator(cpu=True), 0, None, checkpoint)
    assert [s for s, _ in checkpoint.curve] == [2, 4, 5] and checkpoint.best_step == 4
    assert all(modes)
    assert not torch.equal(kept[1], kept[2])  # training moved the head after step 4 ...
    assert torch.equal(model.classifier.weight, kept[1])  # ... and the step-4 weights were put back
    saved = checkpoint.to_dict()
    assert saved["best_step"] == 4 and saved["best_f1"] == 90.0 and len(saved["curve"]) == 3
    assert "kept step 4" in checkpoint.summary()


def test_dev_checkpoint_keeps_the_first_of_equal_scores_and_the_last_step_needs_no_restore():
    from xtremedistil_ner.teacher_dev import DevCheckpoint

    layer = torch.nn.Linear(2, 2)
    checkpoint = DevCheckpoint(1, 3, lambda m: 0.5)
    for step in (1, 2, 3):
        checkpoint.after_step(step, layer)
    assert checkpoint.best_step == 1 and checkpoint.restore(layer)
    rising = iter([0.1, 0.2])
    last = DevCheckpoint(5, 7, lambda m: next(rising))
    assert [last.due(s) for s in (4, 5, 6, 7)] == [False, True, False, True]
    last.after_step(5, layer)
    last.after_step(7, layer)
    assert last.best_step == 7 and not last.restore(layer)
    assert not DevCheckpoint(0, 7, lambda m: 0.0).due(7)


def test_a_run_with_eval_every_writes_the_teacher_dev_curve(smoke_run):
    import json

    saved = json.loads((smoke_run / "teacher_dev_curve.json").read_text(encoding="utf-8"))
    steps = [p["step"] for p in saved["curve"]]
    assert steps[0] == 4 and steps[-1] == saved["total_steps"] and saved["best_step"] in steps
    assert max(p["f1"] for p in saved["curve"]) == saved["best_f1"]


def test_an_ner_checkpoint_keeps_its_head_rows_by_tag_name(tmp_path, mbert_tokenizer):
    from transformers import AutoConfig, AutoModelForTokenClassification

    from xtremedistil_ner.teacher import save_teacher

    wikiann = TagVocab.from_types(["PER", "ORG", "LOC"])  # O B-PER I-PER B-ORG I-ORG B-LOC I-LOC
    config = AutoConfig.from_pretrained(
        str(MBERT), num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32
    )
    config.num_labels = len(wikiann)
    config.id2label, config.label2id = dict(enumerate(wikiann.tags)), wikiann.index
    torch.manual_seed(0)
    ner = AutoModelForTokenClassification.from_config(config)
    save_teacher(ner, mbert_tokenizer, wikiann, tmp_path / "ner")
    head = ner.classifier.weight.detach()

    # another order and a type the checkpoint lacks (CoNLL's MISC): rows follow the names
    conll = TagVocab.from_types(["LOC", "MISC", "PER", "ORG"])
    notes: list[str] = []
    model, _ = build_teacher(TeacherConfig(model=str(tmp_path / "ner")), conll, notes.append)
    assert model.classifier.weight.shape == (len(conll), 16) and model.num_labels == len(conll)
    assert model.config.id2label == dict(enumerate(conll.tags))
    for row, tag in enumerate(conll.tags):
        if "MISC" in tag:
            assert not torch.equal(model.classifier.weight[row], head[wikiann.index["B-PER"]])
        else:
            assert torch.equal(model.classifier.weight[row], head[wikiann.index[tag]])
    assert notes == [f"teacher head: 7 of 9 tags from {tmp_path / 'ner'}'s NER head (by name)"]
    out = model(input_ids=torch.tensor([[101, 1000, 102]]))
    assert out.logits.shape == (1, 3, len(conll))

    # the same tags in the same order: loaded as they are, nothing to say
    notes.clear()
    same, _ = build_teacher(TeacherConfig(model=str(tmp_path / "ner")), wikiann, notes.append)
    assert torch.equal(same.classifier.weight, ner.classifier.weight) and notes == []
