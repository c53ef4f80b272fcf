import pytest

from xtremedistil_ner.config import DataConfig, config_from_dict
from xtremedistil_ner.data.corpus import load_corpus
from xtremedistil_ner.errors import RecipeError


def test_train_rest_is_the_unlabeled_train_beyond_the_gold_budget(tiny_data):
    cfg = DataConfig(data_dir=str(tiny_data), transfer="train-rest", max_train_per_lang=2)
    corpus = load_corpus(cfg, ("de", "tr"))
    full = load_corpus(DataConfig(data_dir=str(tiny_data)), ("de", "tr"))
    for lang in ("de", "tr"):
        gold, transfer = corpus.languages[lang].train, corpus.languages[lang].transfer
        train_full = full.languages[lang].train
        assert [s.tokens for s in gold] == [s.tokens for s in train_full[:2]]
        assert [s.tokens for s in transfer] == [s.tokens for s in train_full[2:]]
        assert all(s.tags is None for s in transfer)


def test_train_rest_caps_the_transfer_set(tiny_data):
    cfg = DataConfig(data_dir=str(tiny_data), transfer="train-rest", max_train_per_lang=1, max_transfer_per_lang=2)
    corpus = load_corpus(cfg, ("de",))
    assert len(corpus.languages["de"].transfer) == 2


def test_train_rest_without_a_gold_budget_is_a_recipe_error():
    with pytest.raises(RecipeError, match="train-rest"):
        config_from_dict({"data": {"transfer": "train-rest"}}, "r.toml")


def test_zero_shot_languages_keep_only_raw_text_and_test(tiny_data):
    cfg = DataConfig(data_dir=str(tiny_data), transfer="train-rest", max_train_per_lang=2, zero_shot_langs="tr")
    corpus = load_corpus(cfg, ("de", "tr"))
    tr, de = corpus.languages["tr"], corpus.languages["de"]
    assert tr.zero_shot and not de.zero_shot
    assert tr.train == [] and tr.dev == [] and tr.test and tr.transfer
    assert all(s.tags is None for s in tr.transfer)
    assert de.train and de.dev
    assert {s.lang for s in corpus.split("train")} == {"de"}


def test_zero_shot_languages_must_be_selected_and_not_all(tiny_data):
    from xtremedistil_ner.errors import XdnerError

    with pytest.raises(XdnerError, match="not among data"):
        load_corpus(DataConfig(data_dir=str(tiny_data), zero_shot_langs="hi"), ("de", "tr"))
    with pytest.raises(XdnerError, match="gold in at least one"):
        load_corpus(DataConfig(data_dir=str(tiny_data), zero_shot_langs="de,tr"), ("de", "tr"))


def test_entity_floor_repeats_sentences_with_entities_in_sparse_train_data(tmp_path):
    """Sparse data: 1 of 4 sentences holds an entity; a floor of 0.5 repeats it to 3 of 6. Dense data unchanged."""
    from xtremedistil_ner.data.corpus import entity_floor

    (tmp_path / "da").mkdir()
    rows = ["Anna bor her\tB-PER O O", "det er godt\tO O O", "vi ses i morgen\tO O O O", "nej tak\tO O"]
    for split in ("train", "dev", "test"):
        (tmp_path / "da" / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    plain = load_corpus(DataConfig(data_dir=str(tmp_path)), ("da",)).languages["da"]
    floored = load_corpus(DataConfig(data_dir=str(tmp_path), entity_floor=0.5), ("da",)).languages["da"]
    assert len(plain.train) == 4 and len(floored.train) == 6
    assert floored.train[:4] == plain.train and floored.train[4:] == [plain.train[0]] * 2
    assert floored.dev == plain.dev and floored.test == plain.test  # only the labeled training sentences
    assert [s.tokens for s in floored.transfer] == [s.tokens for s in plain.transfer]  # transfer from the file
    dense = plain.train[:1] * 3
    assert entity_floor(dense, 0.5) is dense
    with pytest.raises(RecipeError, match="entity_floor"):
        config_from_dict({"data": {"entity_floor": 1.0}}, "r.toml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"langs": "de,tr", "raw_text": "more.txt"}, "one file for several languages"),
        ({"langs": "all", "transfer": "unlabeled.txt"}, "one file for several languages"),
        ({"langs": "de", "raw_text": "more/{language}.txt"}, "only {lang} may stand in braces"),
    ],
)
def test_text_file_templates_are_checked_when_the_recipe_is_read(data, message):
    with pytest.raises(RecipeError, match=message):
        config_from_dict({"data": data}, "r.toml")
    config_from_dict({"data": {**data, "langs": "de", "raw_text": "more/{lang}.txt"}}, "r.toml")  # fine
