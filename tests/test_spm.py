import pytest

from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.spm import fast_tokenizer_from_spm
from xtremedistil_ner.tokenizer_files import load_tokenizer

from .conftest import SHARED, need_shared

LASER = SHARED / "assets" / "tokenizers" / "blingfire-laser-unigram-spm" / "laser_50k.model"
WIKIANN = SHARED / "data" / "wikiann"


def _lines(lang: str, n: int) -> list[str]:
    with open(WIKIANN / lang / "train.tsv", encoding="utf-8") as f:
        return [next(f).split("\t")[0] for _ in range(n)]


@pytest.mark.parametrize("lang", ["de", "ru", "hi", "ar", "ta", "vi"])
def test_rebuilt_tokenizer_splits_like_sentencepiece(lang):
    need_shared()
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(LASER))
    tok = fast_tokenizer_from_spm(LASER)
    assert tok.is_fast and len(tok) == sp.get_piece_size()
    for line in _lines(lang, 200):
        # ids, not strings: sentencepiece spells an unknown piece as its surface text
        assert tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line)


def test_word_ids_cover_every_word_and_survive_save_load(tmp_path):
    need_shared()
    tok = load_tokenizer(str(LASER))
    words = ["Barack", "Obama", "besuchte", "Москву", "."]
    enc = tok([words], is_split_into_words=True, add_special_tokens=False)
    assert sorted(set(w for w in enc.word_ids(0) if w is not None)) == list(range(len(words)))
    tok.save_pretrained(tmp_path / "tok")
    again = load_tokenizer(str(tmp_path / "tok"))
    assert again([words], is_split_into_words=True, add_special_tokens=False)["input_ids"] == enc["input_ids"]
    assert again.unk_token == "<unk>"


def test_not_a_sentencepiece_model(tmp_path):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(XdnerError, match=r"bad\.model: not a SentencePiece model"):
        load_tokenizer(str(bad))
