"""`matches` finds words the way Elasticsearch's standard analyzer does: checked against it."""

from hypothesis import given
from hypothesis import settings as examples_of
from hypothesis import strategies as st

from consumers.core.settings import Settings
from consumers.segments.text import words
from tests import search

# Letters with accents and marks, capitals that lower-case oddly (sigma, dotted and dotless I,
# the titlecase DZ), digits of two scripts, every joiner and connector, ideographs, kana, emoji.
ALPHABET = [
    *"abcxyzAÉéßİǅ0123456789٣ _.':·,;-/@!?()\"\t\n#&+=%日本ひカ한😀",
    "\u0131",  # dotless i
    "\u2019",  # right single quotation mark, a joiner like '
    "\u00a0",  # no-break space
    "\u0301",  # combining acute accent
    "\u00ad",  # soft hyphen (a format character)
    "\u03a3",  # capital sigma
    "\u0391",  # capital alpha
]


def test_words_are_the_standard_analyzers_tokens(settings: Settings) -> None:
    with search.client(settings) as es:

        @examples_of(max_examples=300, deadline=None)
        @given(text=st.text(alphabet=ALPHABET, max_size=16))
        def same_words(text: str) -> None:
            answer = es.indices.analyze(analyzer="standard", text=text)
            assert words(text) == [token["token"] for token in answer["tokens"]], repr(text)

        same_words()
