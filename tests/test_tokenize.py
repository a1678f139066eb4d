"""Term tokenisation in every script (topics.represent.tokenize and .languages): pure text in,
tokens out; no embedding model."""

from __future__ import annotations

import functools
import pickle
import re

import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from conftest import corpus_file
from topics.config import ConfigError, RepresentConfig, build_config
from topics.represent import build_vectorizer
from topics.represent.languages import document_language, resolve_language, stop_words_for, tokenizer_for
from topics.represent.tokenize import Tokenizer, is_identifier, normalize_text, strip_markup

I18N = "debian_bookworm_descriptions_i18n.parquet"
PLAIN = Tokenizer()


@functools.cache
def i18n() -> pd.DataFrame:
    return pd.read_parquet(corpus_file(I18N))


def _texts(lang: str, n: int = 60) -> list[str]:
    table = i18n()
    return table.loc[table["lang"] == lang, "text"].head(n).tolist()


def test_accents_and_other_scripts_are_kept():
    assert PLAIN("Le café était crème brûlée") == ["le", "café", "était", "crème", "brûlée"]
    assert PLAIN("Größe der Straße, naïve") == ["größe", "der", "straße", "naïve"]
    assert PLAIN("Привет мир, हिन्दी भाषा, مرحبا بالعالم") == ["привет", "мир", "हिन्दी", "भाषा", "مرحبا", "بالعالم"]
    # Composed and decomposed accents, full-width letters: one form.
    assert PLAIN("cafe\u0301 ＡＢＣ") == ["café", "abc"]


def test_hyphenated_words_stay_one_term():
    tokens = PLAIN("Scale-free networks, a state-of-the-art x-ray e-mail client; 2-dimensional --verbose COVID-19 well- known")
    assert tokens == ["scale-free", "networks", "state-of-the-art", "x-ray", "e-mail", "client", "dimensional", "verbose",
                      "covid-19", "well", "known"]
    assert "scalefree" not in tokens


def test_apostrophes_and_underscores_split():
    assert PLAIN("l'économie d'Einstein's theory don't") == ["économie", "einstein", "theory", "don"]
    assert PLAIN("snake_case m_sun") == ["snake", "case", "sun"]
    english = tokenizer_for(RepresentConfig().token_pattern, "english", resolve_language([], "english"))
    assert english("don't isn't Einstein's") == ["einstein"]


def test_markup_urls_and_emails_are_not_terms():
    html = "<div><p class='post'>Caf&eacute; r&eacute;sum&eacute; &amp; more</p><!-- hidden comment --><script>var x = 1;</script></div>"
    assert PLAIN(html) == ["café", "résumé", "more"]
    assert PLAIN("see https://example.org/path?q=topic and www.debian.org, mail me@example.com") == ["see", "and", "mail"]
    assert strip_markup("<br/>a<b>b</b>") == " a b " and "<" not in strip_markup("<span style='x'>")
    assert PLAIN(r"Schr\"odinger and Gr{\"o}bner") == ["schrödinger", "and", "gröbner"]


def test_identifiers_and_numbers_are_not_terms():
    md5 = ["772b42c5a35b82967966265253189059", "f25c2ca95ceff4500fde9f651d74f2e4", "550e8400-e29b-41d4-a716-446655440000"]
    assert all(is_identifier(token) for token in [*md5, "abc12345"])
    assert not any(is_identifier(token) for token in ["mp3", "x86-64", "utf-8", "covid-19", "deadbeef", "python3"])
    assert PLAIN(" ".join([*md5, "2048 1.5 3rd mp3"])) == ["mp3"]
    # Whatever the token pattern: a number is no word.
    assert Tokenizer(token_pattern=r"(?u)\b\w\w+\b")("year 2007 12 items x86") == ["year", "items", "x86"]


def test_symbols_and_emoji_give_no_token():
    assert PLAIN("🎉🎉 🙌 😂 👍 !! ★ → ∑ ♪ #") == []
    assert PLAIN("emptydoc") == []  # BERTopic's stand-in for an emptied document


def test_korean_chinese_japanese_segmenters():
    assert PLAIN("2vcard는 주소록과 앨리아스 파일을 널리 사용하는 vCard 형식으로 변환합니다.") == [
        "주소록", "앨리아스", "파일", "사용", "vcard", "형식", "변환"]
    # A word wrapped across lines ("创\n建") is joined back.
    assert PLAIN("2048 难题是基于数学的解谜游戏，将其组合并创\n建数字 2048。") == ["难题", "基于", "数学", "解谜", "游戏", "组合", "创建", "数字"]
    tokens = PLAIN("このプログラムはデータを科学的に解析するための\nグラフィカルインターフェースを提供します。")
    assert tokens == ["プログラム", "データ", "科学的", "解析", "ため", "グラフィカル", "インターフェース", "提供"]
    assert Tokenizer(han="chinese")("数学游戏") == ["数学", "游戏"]


def test_unsegmented_scripts_fall_back_to_character_bigrams():
    assert PLAIN("ภาษาไทย") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]


def test_document_language_by_script_and_stop_words():
    assert [document_language(_texts(lang, 1)[0]) for lang in ("ko", "zh", "ja", "fr", "de")] == [
        "korean", "chinese", "japanese", "french", "german"]
    assert document_language("The quick brown fox jumps over the lazy dog") == "english"
    assert document_language("772b42c5a35b82967966265253189059\n🎉 2048") is None


@pytest.mark.parametrize("lang,language", [("ko", "korean"), ("zh", "chinese"), ("ja", "japanese"), ("fr", "french"), ("de", "german")])
def test_corpus_language_is_detected(lang, language):
    resolved = resolve_language(_texts(lang), "auto")
    assert (resolved.language, resolved.present, resolved.source) == (language, (language,), "detected")


def test_mixed_corpus_is_multilingual_with_every_stop_list():
    texts = [text for lang in ("ko", "zh", "ja", "fr", "de") for text in _texts(lang, 20)]
    resolved = resolve_language(texts, "auto")
    assert resolved.language == "multilingual"
    assert resolved.present == ("french", "german", "korean", "chinese", "japanese")
    assert resolved.han() == "auto"
    stop = stop_words_for("auto", resolved)
    assert {"le", "der", "the", "一个", "こと"} <= stop  # English comes with the CJK languages
    assert resolve_language(texts, "german").present == ("german",)


def test_stop_words_setting_and_language_interact():
    french = resolve_language(_texts("fr"), "auto")
    assert "le" in stop_words_for("auto", french) and "the" not in stop_words_for("auto", french)
    assert "the" in stop_words_for("english", french)
    assert stop_words_for(None, french) == frozenset()
    assert stop_words_for(["Le", "Café"], french) == {"le", "café"}
    with pytest.raises(ConfigError, match="represent.stop_words"):
        build_config(overrides=["represent.stop_words=klingon"])
    with pytest.raises(ConfigError, match="represent.language"):
        build_config(overrides=["represent.language=latin"])
    with pytest.raises(ConfigError, match="represent.token_pattern"):
        build_config(overrides=["represent.token_pattern=(a)(b)"])


def test_english_corpus_terms_match_the_old_cleaning_but_for_hyphens_and_accents(arxiv_table):
    """On English abstracts the new tokens are the old ones (BERTopic's English cleaning, then
    scikit-learn's pattern and English list), except where the old cleaning glued words
    ("scale-free" -> "scalefree", "Green's" -> "greens", "$M_\\odot$" -> "modot"): a new
    word is hyphenated, accented, or a piece of an old glued one; the few others were glued
    to a digit or a TeX command ("4-fold", "\\mathrm{...}")."""
    texts = arxiv_table["text"].head(300).tolist()
    old = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]\w+\b").build_analyzer()
    new = build_vectorizer(RepresentConfig(), texts).build_analyzer()
    kept = changed = unexplained = 0
    for text in texts:
        before = set(old(re.sub(r"[^A-Za-z0-9 ]+", "", text.replace("\n", " "))))
        after = set(new(text.replace("\n", " ")))
        kept += len(before & after)
        changed += len(before - after)
        glued = " ".join(before - after)
        unexplained += sum("-" not in word and word.isascii() and word not in glued for word in after - before)
    assert kept > 10 * changed and unexplained < 0.01 * kept, (kept, changed, unexplained)


def test_vectorizer_is_picklable_after_fitting():
    texts = [*_texts("ko", 20), *_texts("ja", 20)]
    vectorizer = build_vectorizer(RepresentConfig(), texts)
    counts = vectorizer.fit_transform(texts)
    again = pickle.loads(pickle.dumps(vectorizer))
    assert (again.transform(texts) != counts).nnz == 0
    with pytest.raises(ValueError, match="needs the corpus texts"):
        build_vectorizer(RepresentConfig())
    assert build_vectorizer(RepresentConfig(language="english")).tokenizer.stop_words >= {"the", "and"}


def test_normalize_text_is_what_terms_are_read_from():
    assert normalize_text("<b>Café</b>  数学\n游戏 ＡＢ") == " café   数学游戏 ab"


def test_korean_words_in_a_long_text_are_read_in_their_own_stretch():
    """c-TF-IDF joins a topic's documents: one Korean phrase in a long English text is
    segmented with its surroundings only, with the offsets and words of the whole text."""
    from topics.represent.tokenize import KOREAN_CONTEXT, _korean, _korean_spans

    english = "free software for the desktop " * 400
    text = english + "데비안 패키지 관리 도구입니다 " + english
    spans = _korean_spans(text)
    assert len(spans) == 1 and spans[0][1] - spans[0][0] < 2 * KOREAN_CONTEXT + 100
    assert [word for _, word in _korean(text)] == ["데비안", "패키지", "관리", "도구"]
    assert all(text.startswith(word, offset) for offset, word in _korean(text))
