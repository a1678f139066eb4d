"""Topic names: ``"<topic>_"`` and the topic's first terms (BERTopic's style), a snippet of
its representative document when it has no term, and never two topics with one name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

NAME_TERMS = 4


def term_name(topic: int, terms: Sequence[str], n_terms: int = NAME_TERMS) -> str:
    """``"<topic>_"`` and the first ``n_terms`` of ``terms``, joined by ``_``."""
    return "_".join([str(topic), *list(terms)[:n_terms]])


def fallback_name(topic: int, text: str, max_words: int = NAME_TERMS, max_chars: int = 40) -> str:
    """``"<topic>_"`` and the first words of ``text`` (whitespace-separated, control
    characters dropped, at most ``max_chars``): the name of a topic that has no term."""
    words = "".join(ch if ch.isprintable() else " " for ch in text).split()[:max_words]
    snippet = " ".join(words)
    if len(snippet) > max_chars:
        snippet = snippet[: max_chars - 1] + "…"
    return f"{topic}_{snippet}" if snippet else f"{topic}_(no words)"


def name_key(name: str) -> str:
    """What two names are compared on: the part after the ``"<topic>_"`` prefix, case-folded."""
    return name.split("_", 1)[1].casefold() if "_" in name else name.casefold()


def term_name_alternatives(topic: int, terms: Sequence[str], spare_terms: Sequence[str], n_terms: int = NAME_TERMS) -> list[str]:
    """Names to try, in order, when :func:`term_name` of ``terms`` is taken: the last name
    term replaced (or, for a name of fewer than ``n_terms`` terms, followed) by each of the
    topic's further terms in turn, ``terms`` past the name first, then ``spare_terms`` (e.g.
    its plain c-TF-IDF terms); a term already in the name is skipped."""
    named = list(terms)[:n_terms]
    seen = {term.casefold() for term in named}
    head = named[:-1] if len(named) == n_terms else named
    alternatives = []
    for term in [*list(terms)[n_terms:], *spare_terms]:
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            alternatives.append(term_name(topic, [*head, term], n_terms))
    return alternatives


def distinct_names(
    topics: Sequence[int], names: Sequence[str], sizes: Sequence[int], alternatives: Sequence[Sequence[str]],
) -> list[str]:
    """``names`` with no two equal after their ``"<topic>_"`` prefix (:func:`name_key`: the
    id alone never makes names distinct, and case is ignored).

    Topics are taken by size, largest first (ties: lower id); a topic whose name is already
    taken gets the first of its ``alternatives`` whose key is neither taken nor another
    topic's own name, else its name followed by ``" (2)"``, ``" (3)"``... (the first free).
    So the larger topic keeps its name and the smaller one's shows the terms that tell it apart.

    Parameters
    ----------
    topics : sequence of int, length n_topics, the topic ids
    names : sequence of str, length n_topics, ``"<topic>_..."``
    sizes : sequence of int, length n_topics, documents per topic
    alternatives : length n_topics, per topic its names to try in order (e.g.
        :func:`term_name_alternatives`)

    Returns
    -------
    list of str, length n_topics, aligned with ``topics``

    Raises
    ------
    ValueError
        If the four sequences differ in length.
    """
    if not len(topics) == len(names) == len(sizes) == len(alternatives):
        raise ValueError("distinct_names: topics, names, sizes and alternatives differ in length")
    result = list(names)
    pending = Counter(name_key(name) for name in names)
    taken: set[str] = set()
    for i in sorted(range(len(topics)), key=lambda i: (-int(sizes[i]), int(topics[i]))):
        key = name_key(names[i])
        pending[key] -= 1
        if key in taken:
            free = [name for name in alternatives[i] if name_key(name) not in taken and pending[name_key(name)] <= 0]
            if free:
                result[i] = free[0]
            else:
                n = 2
                while name_key(f"{names[i]} ({n})") in taken or pending[name_key(f"{names[i]} ({n})")] > 0:
                    n += 1
                result[i] = f"{names[i]} ({n})"
        taken.add(name_key(result[i]))
    return result
