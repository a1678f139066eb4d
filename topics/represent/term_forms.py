"""Plural and possessive forms of one word, so that a topic's terms do not spend two slots on
one word ("oscar oscars", "galaxy galaxies", "england englands").

The rule is short and explicit rather than a stemmer's, so that it never merges two distinct
words. It applies to Latin-script terms only (Hangul, Han, kana and other scripts are left
as they are), and only in corpora whose term language is not Korean, Chinese or Japanese
(:func:`folds_forms`). For a term, its *singular forms* (:func:`singular_forms`) are, on its
last word (so "black holes" -> "black hole"):

- ``'s`` or ``’s`` dropped ("einstein's" -> "einstein"), and a trailing apostrophe dropped
  ("players'" -> "players", then the rules below);
- ``ies`` -> ``y`` ("galaxies" -> "galaxy");
- ``es`` dropped after ``ss``, ``sh``, ``ch``, ``x``, ``z`` or ``us`` ("classes" -> "class",
  "buses" -> "bus");
- ``s`` dropped ("quarks" -> "quark");

with no rule for a word that ends in ``ss``, ``us``, ``is`` ("class", "bus", "analysis") or
``ics`` (more often a field than a plural: "physics", "economics", "dynamics"), nor for the
words of :data:`DISTINCT_WORDS` ("news" is not the plural of "new"), and no singular form
shorter than :data:`MIN_SINGULAR` characters. :func:`fold_forms` then drops a term only when
one of its singular forms is a term already kept, or it is a singular form of one: a form
that is not itself among the topic's terms never merges anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

# Words ending in "s" that are not the plural of the word without it.
DISTINCT_WORDS = frozenset({"news", "means", "goods", "arms", "customs", "glasses", "savings", "manners", "series", "species"})
MIN_SINGULAR = 3
NO_FOLD_LANGUAGES = ("korean", "chinese", "japanese")

# Latin letters (with their combining marks), digits, apostrophes, hyphens and spaces, and at
# least one Latin letter.
_LATIN_TERM = regex.compile(r"(?=.*\p{Latin})[\p{Latin}\p{M}\p{Nd}'’\- ]+")
_POSSESSIVE = ("'s", "’s")
_APOSTROPHES = ("'", "’")
_ES_AFTER = ("sses", "shes", "ches", "xes", "zes", "uses")
_NO_RULE = ("ss", "us", "is", "ics")


def folds_forms(language) -> bool:
    """Whether a corpus of term language ``language`` (a
    :class:`~topics.represent.languages.TermLanguage`) gets its plural and possessive forms
    folded: every language but Korean, Chinese and Japanese (multilingual included, where the
    rule still touches Latin-script terms only)."""
    return language is None or language.language not in NO_FOLD_LANGUAGES


def _plural_bases(word: str) -> list[str]:
    if not word.endswith("s") or word in DISTINCT_WORDS or word.endswith(_NO_RULE):
        return []
    bases = []
    if word.endswith("ies"):
        bases.append(word[:-3] + "y")
    if word.endswith(_ES_AFTER):
        bases.append(word[:-2])
    bases.append(word[:-1])
    return bases


def singular_forms(term: str) -> tuple[str, ...]:
    """The forms ``term`` would have without a plural or possessive ending (see the module's
    rules), lower-cased; empty for a term the rules leave alone (another script, a word in
    ``ss``/``us``/``is``/``ics``, :data:`DISTINCT_WORDS`).

    Parameters
    ----------
    term : str, one term (a word or a space-separated n-gram)

    Returns
    -------
    tuple of str, possibly empty, in rule order (never ``term`` itself)
    """
    term = term.casefold()
    if not _LATIN_TERM.fullmatch(term):
        return ()
    head, _, last = term.rpartition(" ")
    prefix = head + " " if head else ""
    bases = []
    if last.endswith(_POSSESSIVE):
        bases.append(last[:-2])
    elif last.endswith(_APOSTROPHES):
        bases.append(last[:-1])
        bases.extend(_plural_bases(last[:-1]))
    else:
        bases.extend(_plural_bases(last))
    forms = []
    for base in bases:
        if len(base) >= MIN_SINGULAR and base != last and prefix + base not in forms:
            forms.append(prefix + base)
    return tuple(forms)


def fold_forms(terms: Sequence[str], fold: bool = True) -> list[int]:
    """Positions of the terms to keep when plural and possessive forms of one word take one
    slot: going down the ranked ``terms``, a term is dropped when one of its
    :func:`singular_forms` is a term already kept, or it is a singular form of a term already
    kept; so the first (higher-ranked) form stays, whichever it is. Matching ignores case.

    Parameters
    ----------
    terms : sequence of str, ranked (best first)
    fold : False keeps every term (a language whose terms are not folded, see
        :func:`folds_forms`)

    Returns
    -------
    list of int, increasing positions into ``terms``
    """
    if not fold:
        return list(range(len(terms)))
    kept_terms: set[str] = set()
    kept_forms: set[str] = set()
    keep = []
    for position, term in enumerate(terms):
        key = term.casefold()
        forms = singular_forms(key)
        if key in kept_forms or any(form in kept_terms for form in forms):
            continue
        keep.append(position)
        kept_terms.add(key)
        kept_forms.update(forms)
    return keep
