import pytest

from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.languages import language_name, load_languages, resolve_langs

PAPER_41 = (
    "af ar bg bn bs ca cs da de el en es et fa fi fr he hi hr hu id it lt lv mk ms nl no pl pt ro ru sk sl sq sv "
    "ta tl tr uk vi"
)


def test_languages_tsv_has_the_41_xtremedistil_languages():
    codes = [lang.code for lang in load_languages()]
    assert codes == PAPER_41.split()
    assert all(lang.name and lang.script for lang in load_languages())


def test_resolve_all_and_lists():
    assert len(resolve_langs("all")) == 41
    assert resolve_langs("de,fr") == ("de", "fr")
    assert resolve_langs(["hi", "hi", "ta"]) == ("hi", "ta")


def test_any_well_formed_code_outside_the_41_is_accepted():
    assert resolve_langs("zh,sr") == ("zh", "sr")
    assert resolve_langs("pt-BR,yue") == ("pt-BR", "yue")
    assert language_name("zh") == "zh" and language_name("de") == "German"


@pytest.mark.parametrize("spec", ["english", "de,1x", "DE", ""])
def test_malformed_or_empty_language_is_an_error(spec):
    with pytest.raises(XdnerError):
        resolve_langs(spec)
