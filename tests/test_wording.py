from xtremedistil_ner.wording import plural


def test_plural_says_one_language_and_separates_thousands():
    assert plural(1, "language") == "1 language"  # a single-language run's report and model card
    assert plural(0, "language") == "0 languages"
    assert plural(39, "language") == "39 languages"
    assert plural(12_543, "sentence") == "12,543 sentences"
    assert plural(2, "entity", "entities") == "2 entities"
