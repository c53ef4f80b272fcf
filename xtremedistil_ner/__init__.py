"""xtremedistil_ner: distil multilingual NER teachers into one small shared BiLSTM-CRF student."""

from xtremedistil_ner.config import RunConfig, load_recipe
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.languages import Language, load_languages

__version__ = "0.1.0"

__all__ = [
    "Language",
    "RunConfig",
    "StudentTagger",
    "XdnerError",
    "__version__",
    "load_languages",
    "load_recipe",
    "load_tagger",
]


def __getattr__(name: str) -> object:
    """Import ``StudentTagger`` and ``load_tagger`` on first use: ``import xtremedistil_ner`` stays light."""
    if name == "StudentTagger":
        from xtremedistil_ner.student.model import StudentTagger

        return StudentTagger
    if name == "load_tagger":
        from xtremedistil_ner.serve.load import load_tagger

        return load_tagger
    raise AttributeError(f"module 'xtremedistil_ner' has no attribute {name!r}")
