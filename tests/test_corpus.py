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


def test_mention_swaps_are_gold_sentences_with_same_type_mentions_swapped(tiny_data):
    from xtremedistil_ner.data.augment import mention_swaps
    from xtremedistil_ner.data.readers import read_labeled
    from xtremedistil_ner.data.tags import bio_spans

    gold = read_labeled(tiny_data / "de" / "train.tsv", "de")
    made = mention_swaps(gold, 30, seed="de")
    assert len(made) == 30 and all(s.tags is None and s.lang == "de" for s in made)
    assert made == mention_swaps(gold, 30, seed="de") and made != mention_swaps(gold, 30, seed="other")
    mentions = {(kind, s.tokens[a:b]) for s in gold for a, b, kind in bio_spans(s.tags)}

    # each made sentence is a gold sentence with each span's words replaced by a gold mention of the span's type
    def explains(new, source):
        at, i = 0, 0
        for a, b, kind in bio_spans(source.tags):
            if new.tokens[i : i + a - at] != source.tokens[at:a]:
                return False
            i += a - at
            fits = [m for k, m in mentions if k == kind and new.tokens[i : i + len(m)] == m]
            if not fits:
                return False
            i, at = i + len(fits[0]), b  # a greedy match suffices on this fixture's distinct mentions
        return new.tokens[i:] == source.tokens[at:]

    assert all(any(explains(s, g) for g in gold if g.has_entity) for s in made)
    assert len({s.tokens for s in made}) > 5  # not one sentence repeated
    assert mention_swaps([g.unlabeled() for g in gold], 5) == [] and mention_swaps(gold, 0) == []


def test_labeled_mention_swaps_tag_each_swapped_in_mention_with_its_type(tiny_data):
    from xtremedistil_ner.data.augment import mention_swaps
    from xtremedistil_ner.data.readers import read_labeled
    from xtremedistil_ner.data.tags import bio_spans

    gold = read_labeled(tiny_data / "de" / "train.tsv", "de")
    labeled = mention_swaps(gold, 30, seed="de", labeled=True)
    # the same draws as the unlabeled swaps, with tags: B-/I- over each swapped-in mention, O elsewhere
    assert [s.unlabeled() for s in labeled] == mention_swaps(gold, 30, seed="de")
    mentions = {(kind, s.tokens[a:b]) for s in gold for a, b, kind in bio_spans(s.tags)}
    for s in labeled:
        assert s.tags is not None and len(s.tags) == len(s.tokens) and s.has_entity
        spans = bio_spans(s.tags)
        assert all((kind, s.tokens[a:b]) in mentions for a, b, kind in spans)
        inside = {i for a, b, _ in spans for i in range(a, b)}
        assert all(t == "O" for i, t in enumerate(s.tags) if i not in inside)


def test_teacher_train_adds_labeled_swaps_apart_from_the_transfer_swaps(tiny_data):
    corpus = load_corpus(DataConfig(data_dir=str(tiny_data), augment=5), ("de", "hi"))
    assert corpus.teacher_train() == corpus.split("train")
    more = corpus.teacher_train(4)
    assert more[: len(corpus.split("train"))] == corpus.split("train") and len(more) == len(corpus.split("train")) + 8
    added = more[len(corpus.split("train")) :]
    assert [s.lang for s in added] == ["de"] * 4 + ["hi"] * 4 and all(s.tags is not None for s in added)
    swapped = {s.tokens for d in corpus.languages.values() for s in d.transfer[-5:]}
    assert not {s.tokens for s in added[:4]} <= swapped  # not the transfer set's draws again


def test_augment_adds_to_the_transfer_set(tiny_data):
    plain = load_corpus(DataConfig(data_dir=str(tiny_data)), ("de",)).languages["de"].transfer
    more = load_corpus(DataConfig(data_dir=str(tiny_data), augment=7), ("de",)).languages["de"].transfer
    assert more[: len(plain)] == plain and len(more) == len(plain) + 7


def test_unlabeled_dir_adds_its_train_text_where_it_has_the_language(tmp_path, tiny_data):
    import shutil

    from xtremedistil_ner.data.corpus import cap_notes

    shutil.copytree(tiny_data / "tr", tmp_path / "de")  # another folder's sentences, filed under de
    plain = load_corpus(DataConfig(data_dir=str(tiny_data)), ("de", "hi"))
    cfg = DataConfig(data_dir=str(tiny_data), unlabeled_dir=str(tmp_path), augment=2)
    corpus = load_corpus(cfg, ("de", "hi"))
    de, hi = corpus.languages["de"], corpus.languages["hi"]
    extra = load_corpus(DataConfig(data_dir=str(tiny_data)), ("tr",)).languages["tr"].train
    base = plain.languages["de"].transfer
    # the folder's own text first, then the other folder's train text, labels dropped, then the swaps
    assert de.transfer[: len(base)] == base
    assert [s.tokens for s in de.transfer[len(base) : len(base) + len(extra)]] == [s.tokens for s in extra]
    assert all(s.tags is None and s.lang == "de" for s in de.transfer)
    assert len(de.transfer) == len(base) + len(extra) + 2
    assert len(hi.transfer) == len(plain.languages["hi"].transfer) + 2
    notes = cap_notes(cfg, corpus)
    assert any(f"de {len(extra):,} sentences" in n for n in notes)
    assert any(f"{tmp_path} has no train split for hi" in n for n in notes)
    gone = DataConfig(data_dir=str(tiny_data), unlabeled_dir=str(tmp_path / "nowhere"))
    assert any("not found: nothing for de" in n for n in cap_notes(gone, load_corpus(gone, ("de",))))
    itself = DataConfig(data_dir=str(tiny_data), unlabeled_dir=str(tiny_data))  # the single recipe on WikiANN
    same = load_corpus(itself, ("de",))
    assert same.languages["de"].transfer == base
    assert cap_notes(itself, same) == [
        f"data: data.unlabeled_dir is the data folder itself ({tiny_data}): nothing added"
    ]


def test_a_missing_dev_split_is_held_out_of_train(tmp_path, tiny_data):
    import shutil

    from xtremedistil_ner.data.corpus import cap_notes
    from xtremedistil_ner.errors import DataError

    shutil.copytree(tiny_data / "de", tmp_path / "de")
    (tmp_path / "de" / "dev.tsv").unlink()
    full = load_corpus(DataConfig(data_dir=str(tiny_data)), ("de",)).languages["de"].train
    cfg = DataConfig(data_dir=str(tmp_path), dev_from_train=0.2, transfer="train")
    corpus = load_corpus(cfg, ("de",))
    data = corpus.languages["de"]
    assert data.dev_from_train and [s.tokens for s in data.dev] == [s.tokens for s in full[-1:]]
    assert [s.tokens for s in data.train] == [s.tokens for s in full[:-1]]
    assert [s.tokens for s in data.transfer] == [s.tokens for s in full[:-1]]  # dev text is not transfer text
    assert "no dev split for de" in cap_notes(cfg, corpus)[0]
    with pytest.raises(DataError, match=r"missing split 'dev'.*dev_from_train"):
        load_corpus(DataConfig(data_dir=str(tmp_path), dev_from_train=0.0), ("de",))


def test_cap_notes_say_what_a_cap_cut(tiny_data):
    from xtremedistil_ner.data.corpus import cap_notes

    cfg = DataConfig(data_dir=str(tiny_data), max_train_per_lang=2)
    (note,) = cap_notes(cfg, load_corpus(cfg, ("de", "hi")))
    assert "train capped at the first 2 sentences per language" in note and "de 5, hi 5" in note
    assert (
        cap_notes(DataConfig(data_dir=str(tiny_data)), load_corpus(DataConfig(data_dir=str(tiny_data)), ("de",))) == []
    )


def test_cap_notes_name_the_languages_train_rest_leaves_without_transfer_text(tiny_data):
    from xtremedistil_ner.data.corpus import cap_notes

    cfg = DataConfig(data_dir=str(tiny_data), max_train_per_lang=5, transfer="train-rest")
    corpus = load_corpus(cfg, ("de", "hi"))
    assert all(d.transfer == [] for d in corpus.languages.values())
    (note,) = cap_notes(cfg, corpus)
    assert note.startswith("data: de, hi: no transfer sentences of their own") and "= 5;" in note
    cfg = DataConfig(data_dir=str(tiny_data), max_train_per_lang=4, transfer="train-rest")
    assert not any("no transfer sentences" in n for n in cap_notes(cfg, load_corpus(cfg, ("de", "hi"))))


def test_recombined_mentions_join_one_head_to_another_tail():
    import random

    from xtremedistil_ner.data.augment import recombined

    rng = random.Random(0)
    for _ in range(50):
        # one-word mentions join at characters: a non-empty head of the first, a proper tail of the second
        (word,) = recombined(("Obama",), ("Clinton",), rng)
        assert any(word == "Obama"[:i] + "Clinton"[j:] for i in range(1, 5) for j in range(1, 7))
        # longer mentions join at words: at least one word of each
        joined = recombined(("Bank", "of", "America"), ("Deutsche", "Bahn"), rng)
        assert joined in {("Bank", "Bahn"), ("Bank", "of", "Bahn")}
        assert recombined(("北京市",), ("Deutsche", "Bahn"), rng) == ("北京市", "Bahn")
    assert recombined(("X",), ("Y",), rng) == ("X", "Y")  # a one-letter word cannot be cut


def test_recombine_swaps_in_new_names_and_zero_keeps_the_gold_draws(tiny_data):
    from xtremedistil_ner.data.augment import mention_swaps
    from xtremedistil_ner.data.readers import read_labeled
    from xtremedistil_ner.data.tags import bio_spans

    gold = read_labeled(tiny_data / "de" / "train.tsv", "de")
    assert mention_swaps(gold, 30, seed="de", recombine=0.0) == mention_swaps(gold, 30, seed="de")
    mentions = {s.tokens[a:b] for s in gold for a, b, _ in bio_spans(s.tags)}
    made = mention_swaps(gold, 30, seed="de", labeled=True, recombine=1.0)
    new = [s.tokens[a:b] for s in made for a, b, _ in bio_spans(s.tags)]
    assert len(new) >= 30 and sum(m not in mentions for m in new) > len(new) // 2
    assert [s.unlabeled() for s in made] == mention_swaps(gold, 30, seed="de", recombine=1.0)


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_recombine_outside_zero_one_is_refused(value):
    with pytest.raises(RecipeError, match="recombine"):
        config_from_dict({"data": {"recombine": value}}, "r.toml")


def test_context_swap_changes_only_words_outside_mentions(tiny_data):
    from xtremedistil_ner.data.augment import mention_swaps
    from xtremedistil_ner.data.readers import read_labeled
    from xtremedistil_ner.data.tags import bio_spans

    gold = read_labeled(tiny_data / "de" / "train.tsv", "de")
    assert mention_swaps(gold, 30, seed="de", context_swap=0.0) == mention_swaps(gold, 30, seed="de")
    outside = {t for s in gold for i, t in enumerate(s.tokens) if s.tags[i] == "O"}
    mentions = {s.tokens[a:b] for s in gold for a, b, _ in bio_spans(s.tags)}
    plain = mention_swaps(gold, 60, seed="de", labeled=True)
    made = mention_swaps(gold, 60, seed="de", labeled=True, context_swap=1.0)
    # every context word is drawn from the gold's context words; every mention is still a gold mention
    assert all(t in outside for s in made for t, tag in zip(s.tokens, s.tags, strict=True) if tag == "O")
    assert all(s.tokens[a:b] in mentions for s in made for a, b, _ in bio_spans(s.tags))
    assert [s.tags for s in made] != [] and sum(a.tokens != b.tokens for a, b in zip(made, plain, strict=True)) > 30
    assert [s.unlabeled() for s in made] == mention_swaps(gold, 60, seed="de", context_swap=1.0)


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_context_swap_outside_zero_one_is_refused(value):
    with pytest.raises(RecipeError, match="context_swap"):
        config_from_dict({"data": {"context_swap": value}}, "r.toml")
