"""Stop-word lists per term language (see :mod:`topics.represent.languages`).

Where each list comes from:

- ``english``: scikit-learn's ``ENGLISH_STOP_WORDS`` (the Glasgow Information Retrieval
  Group's list), plus the stems that English contractions leave once the apostrophe splits
  them ("don't" -> "don", "t"): ``CONTRACTION_STEMS`` below.
- ``french``, ``german``: small lists written here after the Snowball project's stop lists
  (snowballstem.org, BSD licence): articles, pronouns, prepositions, conjunctions and the
  forms of the auxiliaries, plus a few adverbs. scikit-learn ships no list for them.
- ``korean``: the nouns of kiwipiepy's own default list (``kiwipiepy.utils.Stopwords``; built
  from the most frequent morphemes of the AIHub and Modu corpora). Particles, endings and the
  other function morphemes it lists never become terms anyway: only nouns do (see
  :mod:`topics.represent.tokenize`).
- ``chinese``: jieba ships no Chinese list; common function words of two or more characters,
  written here (single characters never become terms).
- ``japanese``: SudachiPy ships no list; its part-of-speech tags already keep only nouns, and
  the formal nouns listed here (こと, もの, ため ...) carry no topic.

Every list is lower-case and NFKC-normalised, as tokens are.
"""

from __future__ import annotations

import functools

CONTRACTION_STEMS = frozenset(
    "aren couldn didn doesn don hadn hasn haven isn ll mightn mustn needn shan shouldn ve wasn weren won wouldn".split()
)

FRENCH = frozenset("""
à afin ai aie aient aies ainsi ait alors as au aucun aucune auquel aura aurai auraient aurais aurait auras aurez auriez
aurions aurons auront aussi autre autres aux auxquelles auxquels avaient avais avait avant avec avez aviez avions avoir
avons ayant ayez ayons bien c ça car ce ceci cela celle celles celui cependant certains ces cet cette ceux chaque
chez comme comment d dans de depuis des desquelles desquels déjà donc dont du duquel elle elles en encore entre es est
et étaient étais était étant été étiez étions être eu eue eues eûmes eurent eus eut eûtes eux fait faire font fûmes
furent fus fut fûtes ici il ils j je jusqu l la laquelle le lequel les lesquelles lesquels leur leurs lors lorsque lui
m ma mais me même mêmes mes moi moins mon n ne ni non nos notre nous on ont or ou où par parce pas pendant peu peut
peut-être peuvent plus plusieurs pour pourquoi puis qu quand que quel quelle quelles quels qui quoi s sa sans se selon
sera serai seraient serais serait seras serez seriez serions serons seront ses si sien soi soient sois soit sommes son
sont sous soyez soyons suis sur t ta tandis te tel telle telles tels tes toi ton tous tout toute toutes très tu un une
unes uns vers via vos votre vous y etc
""".split())

GERMAN = frozenset("""
ab aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern anders
auch auf aus bei beim bin bis bist bzw da dabei dadurch dafür damit dann darauf darin das dass daß dazu dein deine
deinem deinen deiner deines dem demselben den denn denselben der derer derselbe derselben des desselben dessen dich die
dies diese dieselbe dieselben diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines
einig einige einigem einigen einiger einiges einmal er es etwa etwas euch euer eure eurem euren eurer eures für gegen
gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in
indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner
keines können könnte man manche manchem manchen mancher manches mehr mein meine meinem meinen meiner meines mich mir
mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie
sind so solche solchem solchen solcher solches soll sollte sondern sonst sowie über um und uns unser unsere unserem
unseren unserer unseres unter usw viel vom von vor während war waren warst was weg weil weiter welche welchem welchen
welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden wurde wurden zu zum zur
zwar zwischen etc
""".split())

CHINESE = frozenset("""
一个 一些 一种 一样 一直 一起 不会 不同 不是 不能 之一 之后 之前 之间 也是 二者 人们 他们 以上 以下 以及 以便 以后 以外 但是
你们 例如 其中 其他 其它 具有 凡是 出来 分别 别的 即使 可以 可能 各种 同时 否则 哪些 因为 因此 它们 对于 就是 已经 并且 应该
很多 或者 所以 所有 我们 或是 所谓 时候 是否 有些 有关 本身 来说 某些 此外 没有 然后 然而 特别 甚至 由于 目前 直接
相关 等等 而且 而是 自己 虽然 该项 还是 还有 这个 这些 这么 这是 这样 这种 那么 那些 那个 那样 通过 需要 非常 首先 如果 如何
只是 只有 包括 已有 里面 上面 下面 什么 怎么 为了 关于 作为 从而 除了
""".split())

JAPANESE = frozenset("""
こと もの ため よう ところ とき ほう わけ はず うち など これ それ あれ どれ ここ そこ あそこ どこ
以下 以上 以外 場合 ほか
""".split())


@functools.cache
def korean() -> frozenset[str]:
    """The nouns (``NNG``, ``NNP``) of kiwipiepy's default stop list, read from the package."""
    from kiwipiepy.utils import Stopwords

    return frozenset(form for form, tag in Stopwords().stopwords if tag in ("NNG", "NNP"))


@functools.cache
def english() -> frozenset[str]:
    """scikit-learn's English list and :data:`CONTRACTION_STEMS`."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | CONTRACTION_STEMS


def stop_list(language: str) -> frozenset[str]:
    """The stop words of ``language`` (one of :data:`topics.represent.languages.LANGUAGES`).

    Raises
    ------
    KeyError
        For a language with no list.
    """
    lists = {"english": english, "french": lambda: FRENCH, "german": lambda: GERMAN, "korean": korean,
             "chinese": lambda: CHINESE, "japanese": lambda: JAPANESE}
    return lists[language]()
