import pytest

from topics.represent.languages import TermLanguage
from topics.represent.term_forms import fold_forms, folds_forms, singular_forms


@pytest.mark.parametrize(
    "term, singular",
    [
        ("oscars", "oscar"), ("englands", "england"), ("galaxies", "galaxy"), ("quarks", "quark"),
        ("einstein's", "einstein"), ("einstein’s", "einstein"), ("players'", "player"), ("classes", "class"),
        ("buses", "bus"), ("churches", "church"), ("boxes", "box"), ("black holes", "black hole"), ("Oscars", "oscar"),
        ("économies", "économie"),
    ],
)
def test_plural_and_possessive_forms(term, singular):
    assert singular in singular_forms(term)


@pytest.mark.parametrize("term", ["news", "physics", "economics", "bus", "analysis", "class", "gas", "means", "oscar", "les", "2s"])
def test_words_the_rules_leave_alone(term):
    assert singular_forms(term) == ()


@pytest.mark.parametrize("term", ["파일들", "銀河s", "галактики", "файлы"])
def test_other_scripts_are_never_folded(term):
    assert singular_forms(term) == ()


@pytest.mark.parametrize(
    "terms, kept",
    [
        (["oscar", "film", "oscars", "award"], ["oscar", "film", "award"]),
        (["oscars", "film", "oscar"], ["oscars", "film"]),  # the first form stays, whichever it is
        (["galaxy", "galaxies", "stars", "star"], ["galaxy", "stars"]),
        (["england", "englands", "england's"], ["england"]),
        (["Quarks", "quark"], ["Quarks"]),
        # Distinct words, never merged.
        (["news", "new", "physics", "physic", "bus", "bu", "analysis", "analysi"],
         ["news", "new", "physics", "physic", "bus", "bu", "analysis", "analysi"]),
        # A singular form that is not itself a term merges nothing.
        (["oscars", "oscar's", "film"], ["oscars", "oscar's", "film"]),
    ],
)
def test_fold_forms_keeps_the_first_form(terms, kept):
    assert [terms[i] for i in fold_forms(terms)] == kept


def test_fold_forms_off_keeps_everything():
    assert fold_forms(["oscar", "oscars"], fold=False) == [0, 1]


@pytest.mark.parametrize("language, fold", [("english", True), ("multilingual", True), ("french", True), ("korean", False),
                                            ("chinese", False), ("japanese", False)])
def test_which_languages_fold(language, fold):
    assert folds_forms(TermLanguage(language, (language,), "set")) is fold
